use tokio::sync::watch;

/// Tells watchers that the event log has grown. The log itself is the
/// database's `events` table; this only carries the newest cursor, so a slow
/// watcher never holds anything up and never misses an event (it re-reads the log).
pub trait EventBus: Send + Sync + 'static {
    fn published(&self, cursor: i64);
    fn subscribe(&self) -> watch::Receiver<i64>;
}

pub struct InProcessEvents {
    newest: watch::Sender<i64>,
}

impl InProcessEvents {
    pub fn new() -> Self {
        Self {
            newest: watch::Sender::new(0),
        }
    }
}

impl Default for InProcessEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus for InProcessEvents {
    fn published(&self, cursor: i64) {
        self.newest.send_if_modified(|c| {
            let newer = cursor > *c;
            if newer {
                *c = cursor;
            }
            newer
        });
    }

    fn subscribe(&self) -> watch::Receiver<i64> {
        self.newest.subscribe()
    }
}
