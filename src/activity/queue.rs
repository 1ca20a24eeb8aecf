//! Group commit for activity: batches recorded at the same time, by any caller, are folded
//! into shared write transactions by one writer per database (SQLite) or per course shard
//! (PostgreSQL), and each caller is answered once its events are committed.
//!
//! A commit then serves many requests, and the rollup rows they share are written once.
//! The queue is bounded in events: a pushed batch that does not fit is refused at once
//! ([`StoreError::Busy`], which the endpoints answer 503 with `Retry-After`); an import
//! waits for room instead.

use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::clock::Bucketing;
use super::event::NewActivity;
use super::store::ActivityStore;
use crate::store::{CourseId, StoreError, StoreResult};

/// Events queued (waiting or being written) by default, before pushes are refused (the
/// `activity_queue_events` setting's default).
pub const DEFAULT_QUEUE_EVENTS: usize = 50_000;

/// A writer stops adding waiting batches to a transaction once it holds this many events.
const GROUP_EVENTS: usize = 20_000;

/// One course's events in a recorded batch: with their rollups (`bucketing`), or alone.
#[derive(Debug)]
pub struct CourseBatch {
    pub course: CourseId,
    pub events: Vec<NewActivity>,
    pub bucketing: Option<Bucketing>,
}

/// Room held in the queue for a number of events, from before a batch is resolved until
/// it is committed.
#[derive(Debug)]
pub struct QueueRoom {
    _held: OwnedSemaphorePermit,
}

/// One caller's batches and where its answer goes: per batch, per event, whether it was new.
struct Job {
    batches: Vec<CourseBatch>,
    reply: oneshot::Sender<StoreResult<Vec<Vec<bool>>>>,
    _room: QueueRoom,
}

/// The writers' inboxes and the room left in them.
#[derive(Clone, Debug)]
pub(crate) struct ActivityQueue {
    writers: Arc<[mpsc::UnboundedSender<Job>]>,
    room: Arc<Semaphore>,
    capacity: usize,
}

impl ActivityQueue {
    /// `writers` writers in front of `store` (a job goes to the one its lowest course id
    /// names, so a course's single-course batches always meet in one writer), with room for
    /// `capacity` events.
    pub(crate) fn start<S: ActivityStore>(store: S, writers: usize, capacity: usize) -> Self {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        let writers = (0..writers.max(1))
            .map(|_| {
                let (inbox, jobs) = mpsc::unbounded_channel();
                tokio::spawn(write_jobs(store.clone(), jobs));
                inbox
            })
            .collect();
        Self {
            writers,
            room: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// Room for `events`, or [`StoreError::Busy`] at once when the queue lacks it.
    pub(crate) fn try_reserve(&self, events: usize) -> StoreResult<QueueRoom> {
        Arc::clone(&self.room)
            .try_acquire_many_owned(self.permits(events))
            .map(|held| QueueRoom { _held: held })
            .map_err(|_| {
                StoreError::Busy(format!(
                    "cloop is still writing {} events received before these: send this batch \
                     again shortly",
                    self.capacity - self.room.available_permits()
                ))
            })
    }

    /// Room for `events`, waiting for it (a batch larger than the queue waits for all of it).
    pub(crate) async fn reserve(&self, events: usize) -> QueueRoom {
        let permit = Arc::clone(&self.room)
            .acquire_many_owned(self.permits(events))
            .await
            .expect("the queue's semaphore is never closed");
        QueueRoom { _held: permit }
    }

    /// Events received and not yet committed.
    pub(crate) fn waiting(&self) -> usize {
        self.capacity - self.room.available_permits()
    }

    fn permits(&self, events: usize) -> u32 {
        u32::try_from(events.clamp(1, self.capacity)).unwrap_or(u32::MAX)
    }

    /// Hands `batches` to their writer and waits until they are committed; per batch, per
    /// event, whether it was new.
    pub(crate) async fn record(
        &self,
        room: QueueRoom,
        batches: Vec<CourseBatch>,
    ) -> StoreResult<Vec<Vec<bool>>> {
        let Some(first) = batches.iter().map(|b| b.course.0).min() else {
            return Ok(Vec::new());
        };
        let writer = &self.writers[first.rem_euclid(self.writers.len() as i64) as usize];
        let (reply, answer) = oneshot::channel();
        let job = Job {
            batches,
            reply,
            _room: room,
        };
        let stopped =
            || StoreError::Busy("cloop is shutting down: send this batch again shortly".into());
        writer.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// A writer: takes the first waiting job and every job waiting behind it (up to
/// [`GROUP_EVENTS`]), commits them in one transaction, and answers each. If that fails,
/// each job is written alone, so one bad batch fails only its own caller.
async fn write_jobs<S: ActivityStore>(store: S, mut inbox: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = inbox.recv().await {
        let mut events = job_events(&first);
        let mut group = vec![first];
        while events < GROUP_EVENTS {
            let Ok(next) = inbox.try_recv() else { break };
            events += job_events(&next);
            group.push(next);
        }
        match write_group(&store, &group).await {
            Ok(answers) => {
                for (job, answer) in group.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            // Written alone, each batch would wait as long again for a database that is
            // down: every caller hears at once, and resends.
            Err(StoreError::Unavailable(why)) => {
                for job in group {
                    let _ = job.reply.send(Err(StoreError::Unavailable(why.clone())));
                }
            }
            Err(e) if group.len() == 1 => {
                let job = group.pop().expect("one job");
                let _ = job.reply.send(Err(e));
            }
            Err(e) => {
                tracing::warn!(jobs = group.len(), error = %e, "a grouped activity write failed; writing each batch alone");
                for job in group {
                    let answer = write_group(&store, std::slice::from_ref(&job)).await;
                    let _ = job
                        .reply
                        .send(answer.map(|mut a| a.pop().unwrap_or_default()));
                }
            }
        }
    }
}

fn job_events(job: &Job) -> usize {
    job.batches.iter().map(|b| b.events.len()).sum()
}

/// What one transaction writes for one course: its distinct events (first sightings, in
/// order) with or without rollups.
pub(crate) struct CourseWrite<'a> {
    pub course: CourseId,
    pub events: Vec<&'a NewActivity>,
    pub bucketing: Option<&'a Bucketing>,
}

/// Writes `jobs` in one transaction: each course's events of all jobs together, so an
/// event sent twice is new only for the first batch holding it. Per job, per batch, per
/// event, whether it was new.
async fn write_group<S: ActivityStore>(
    store: &S,
    jobs: &[Job],
) -> StoreResult<Vec<Vec<Vec<bool>>>> {
    // One write per (course, with rollups), in that order: writers then take courses'
    // locks in one order.
    let keys: BTreeSet<(CourseId, bool)> = jobs
        .iter()
        .flat_map(|job| &job.batches)
        .map(|b| (b.course, b.bucketing.is_some()))
        .collect();
    let write_of: HashMap<(CourseId, bool), usize> =
        keys.iter().enumerate().map(|(w, key)| (*key, w)).collect();
    let mut writes: Vec<CourseWrite<'_>> = keys
        .iter()
        .map(|&(course, _)| CourseWrite {
            course,
            events: Vec::new(),
            bucketing: None,
        })
        .collect();
    let mut seen: Vec<HashMap<(i64, &str), usize>> = vec![HashMap::new(); writes.len()];
    // Per job, per batch: its write, and where each event landed in it (its position among
    // the distinct events, or none for a repeat).
    let mut placed: Vec<Vec<(usize, Vec<Option<usize>>)>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut batches = Vec::with_capacity(job.batches.len());
        for batch in &job.batches {
            let w = write_of[&(batch.course, batch.bucketing.is_some())];
            let write = &mut writes[w];
            write.bucketing = write.bucketing.or(batch.bucketing.as_ref());
            let at = batch
                .events
                .iter()
                .map(|e| match seen[w].entry(e.key()) {
                    Entry::Occupied(_) => None,
                    Entry::Vacant(slot) => {
                        slot.insert(write.events.len());
                        write.events.push(e);
                        Some(write.events.len() - 1)
                    }
                })
                .collect();
            batches.push((w, at));
        }
        placed.push(batches);
    }
    drop(seen);
    let fresh = store.record(&writes).await?;
    Ok(placed
        .into_iter()
        .map(|batches| {
            batches
                .into_iter()
                .map(|(w, at)| {
                    at.into_iter()
                        .map(|u| u.is_some_and(|u| fresh[w][u]))
                        .collect()
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::poll;
    use tokio::sync::Notify;

    use super::*;

    /// A database that is down: every write fails as out of reach, the first only once
    /// the test lets it.
    #[derive(Clone)]
    struct Down {
        writes: Arc<AtomicUsize>,
        first_may_fail: Arc<Notify>,
    }

    impl ActivityStore for Down {
        async fn record(&self, _: &[CourseWrite<'_>]) -> StoreResult<Vec<Vec<bool>>> {
            if self.writes.fetch_add(1, Ordering::SeqCst) == 0 {
                self.first_may_fail.notified().await;
            }
            Err(StoreError::Unavailable("connection refused".into()))
        }

        async fn recount_rollups(&self, _: CourseId, _: &Bucketing) -> StoreResult<()> {
            unreachable!("not recounted")
        }

        async fn seal_finished_days(&self, _: CourseId) -> StoreResult<()> {
            unreachable!("not sealed")
        }
    }

    fn batch() -> Vec<CourseBatch> {
        vec![CourseBatch {
            course: CourseId(1),
            events: Vec::new(),
            bucketing: None,
        }]
    }

    #[tokio::test]
    async fn a_group_the_database_is_down_for_fails_together_not_one_by_one() {
        let down = Down {
            writes: Arc::default(),
            first_may_fail: Arc::default(),
        };
        let queue = ActivityQueue::start(down.clone(), 1, 100);
        let first = queue.record(queue.reserve(1).await, batch());
        tokio::pin!(first);
        assert!(poll!(&mut first).is_pending());
        while down.writes.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // Two more wait behind the first write, so the writer takes them as one group.
        let (second, third) = (
            queue.record(queue.reserve(1).await, batch()),
            queue.record(queue.reserve(1).await, batch()),
        );
        tokio::pin!(second, third);
        assert!(poll!(&mut second).is_pending() && poll!(&mut third).is_pending());
        down.first_may_fail.notify_one();
        for answer in [first.await, second.await, third.await] {
            assert!(
                matches!(answer, Err(StoreError::Unavailable(_))),
                "{answer:?}"
            );
        }
        assert_eq!(
            down.writes.load(Ordering::SeqCst),
            2,
            "the group of two was tried once"
        );
        assert_eq!(queue.waiting(), 0, "their room is given back");
    }
}
