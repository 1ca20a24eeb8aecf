-- LTI Advantage services per course: the outcome of the last roster (NRPS) and gradebook
-- (AGS) read, shown to staff as the data-source status, and the NRPS `differences` URL the
-- next roster read can start from.
CREATE TABLE lti_service_status (
    course_id       INTEGER NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    service         TEXT NOT NULL CHECK (service IN ('nrps', 'ags')),
    last_run_at     INTEGER NOT NULL,
    last_success_at INTEGER,
    error           TEXT,
    summary         TEXT NOT NULL DEFAULT '',
    differences_url TEXT,
    PRIMARY KEY (course_id, service)
);
