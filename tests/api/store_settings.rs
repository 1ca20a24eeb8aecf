use cloop::SecretKey;

use crate::{fresh_store, on_both_backends};

on_both_backends! {
    async fn generated_secret_key_is_stored_once_and_reused(backend: Backend) {
        let (db, store) = fresh_store!(backend);
        let first = SecretKey::load_or_create(&store, None).await.unwrap();
        let tag = first.sign("test", b"message");
        store.close().await;

        let reopened = db.store().await;
        let second = SecretKey::load_or_create(&reopened, None).await.unwrap();
        assert!(second.verify("test", b"message", &tag), "a restart keeps the same key");
        let stored = reopened.setting("secret_key").await.unwrap().unwrap();
        assert!(stored.len() >= 32);
    }
}

on_both_backends! {
    async fn first_stored_setting_wins(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        assert_eq!(store.setting("k").await.unwrap(), None);
        assert_eq!(store.setting_or_insert("k", || "one".into()).await.unwrap(), "one");
        assert_eq!(store.setting_or_insert("k", || "two".into()).await.unwrap(), "one");
    }
}
