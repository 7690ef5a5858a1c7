//! The event log's newest events, read once per process and shared by every
//! watch: a new event costs this process one query, not one per watcher. A
//! watch behind the window reads the log itself until it catches up.

use std::collections::VecDeque;
use std::sync::Arc;

use jixiao_queue::EventBus;
use jixiao_store::{entity::event, EventFilter, Store};
use tokio::sync::{watch, Notify};

use crate::{read_log, LogPage, EVENT_PAGE, EVENT_POLL};

/// The newest stretch of the log, as last read.
#[derive(Clone, Debug)]
pub struct Window {
    /// Every stored event with `from < seq <= to` is in `pages`, in order.
    pub from: i64,
    pub to: i64,
    /// The log's trim mark, read after the events, or the one this
    /// process's trimmer announced before deleting (the higher).
    pub trimmed: i64,
    /// The log could not be read: the window covers nothing until it is, and
    /// each watch reads the log itself (its own error, if any, ends it).
    failed: bool,
    pages: VecDeque<Arc<[event::Model]>>,
    len: usize,
}

impl Window {
    /// Before the first read: it covers nothing, so every watch reads the log.
    fn unread() -> Self {
        Window {
            from: i64::MAX,
            to: i64::MAX,
            trimmed: 0,
            failed: false,
            pages: VecDeque::new(),
            len: 0,
        }
    }

    /// Whether the window holds every event after `seq` that the log does.
    pub fn covers(&self, seq: i64) -> bool {
        !self.failed && seq >= self.from
    }

    /// The window's events after `seq`, in order.
    pub fn after(&self, seq: i64) -> impl Iterator<Item = &event::Model> {
        self.pages
            .iter()
            .filter(move |p| p.last().is_some_and(|e| e.seq > seq))
            .flat_map(move |p| p[p.partition_point(|e| e.seq <= seq)..].iter())
    }

    /// Appends a page read after `to`, dropping the oldest pages past `capacity`.
    fn push(&mut self, page: Vec<event::Model>, capacity: usize) {
        if let Some(last) = page.last() {
            self.to = last.seq;
            self.len += page.len();
            self.pages.push_back(page.into());
        }
        while self.len > capacity && self.pages.len() > 1 {
            let Some(oldest) = self.pages.pop_front() else {
                break;
            };
            self.len -= oldest.len();
            if let Some(e) = oldest.last() {
                self.from = e.seq;
            }
        }
    }
}

/// The shared window; cheap to clone.
#[derive(Clone)]
pub struct EventTail {
    publish: Arc<watch::Sender<Arc<Window>>>,
    /// Wakes the reader, which reads nothing while nobody follows the window.
    followed: Arc<Notify>,
}

impl EventTail {
    /// Follows the log from its current end while anybody subscribes,
    /// keeping the newest `capacity` events (and at least the last page
    /// read); woken by this process's events and every [`EVENT_POLL`] for
    /// other processes'.
    pub fn start(
        store: Store,
        events: &dyn EventBus,
        stopping: watch::Receiver<bool>,
        capacity: usize,
    ) -> Self {
        let publish = Arc::new(watch::Sender::new(Arc::new(Window::unread())));
        let followed = Arc::new(Notify::new());
        tokio::spawn(follow(
            store,
            events.subscribe(),
            publish.clone(),
            followed.clone(),
            stopping,
            capacity,
        ));
        EventTail { publish, followed }
    }

    /// The window, as long as the receiver lives. A window not read since
    /// the last subscriber left covers nothing until the reader's next read.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Window>> {
        let window = self.publish.subscribe();
        self.followed.notify_one();
        window
    }

    /// This process is about to trim the log through `through`: watches
    /// served from memory are told they fell behind as the log would tell
    /// them, not up to a poll later.
    pub fn trimming(&self, through: i64) {
        self.publish.send_if_modified(|w| {
            if through <= w.trimmed {
                return false;
            }
            let mut raised = (**w).clone();
            raised.trimmed = through;
            *w = Arc::new(raised);
            true
        });
    }
}

async fn follow(
    store: Store,
    mut newest: watch::Receiver<i64>,
    tx: Arc<watch::Sender<Arc<Window>>>,
    followed: Arc<Notify>,
    mut stopping: watch::Receiver<bool>,
    capacity: usize,
) {
    let mut window = Window::unread();
    loop {
        if tx.receiver_count() == 0 {
            // Nobody follows (no watch, no mirror): no reads until somebody
            // does, and then from the log's end.
            window = Window::unread();
            tx.send_modify(|published| {
                window.trimmed = published.trimmed;
                *published = Arc::new(window.clone());
            });
            tokio::select! {
                _ = followed.notified() => continue,
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
        // A window not yet read, or failed, starts again at the log's end.
        let after = (!window.failed && window.to != i64::MAX).then_some(window.to);
        match read_log(&store, after, &EventFilter::default()).await {
            Ok(LogPage {
                high,
                events: page,
                trimmed,
            }) => {
                if window.failed || window.to == i64::MAX {
                    // From the log's end: what came before is read by the
                    // watches that need it.
                    window = Window::unread();
                    (window.from, window.to) = (high, high);
                }
                let full = page.len() as u64 == EVENT_PAGE;
                window.push(page, capacity);
                if !full {
                    window.to = window.to.max(high);
                }
                // Under the channel's lock: a mark this process's trimmer
                // announced meanwhile (ahead of the log's) is kept, not
                // overwritten. Watches wake only when there is something new.
                tx.send_if_modified(|published| {
                    window.trimmed = trimmed.max(published.trimmed);
                    let moved = published.failed
                        || (published.to, published.trimmed) != (window.to, window.trimmed);
                    if moved {
                        *published = Arc::new(window.clone());
                    }
                    moved
                });
                if full {
                    continue;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the event log failed; watches read it themselves until it is read again");
                window.failed = true;
                tx.send_modify(|published| {
                    window.trimmed = window.trimmed.max(published.trimmed);
                    *published = Arc::new(window.clone());
                });
            }
        }
        tokio::select! {
            changed = newest.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(EVENT_POLL) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64) -> event::Model {
        event::Model {
            seq,
            event_type: "received".into(),
            submission_id: format!("sub_{seq}"),
            tenant: "湖南省".into(),
            budget_unit: "甲".into(),
            fiscal_year: 2024,
            at: 0,
            detail: String::new(),
        }
    }

    fn seqs<'a>(it: impl Iterator<Item = &'a event::Model>) -> Vec<i64> {
        it.map(|e| e.seq).collect()
    }

    /// The window keeps whole pages up to its capacity, says from where it
    /// covers the log, and finds the events after any cursor it covers.
    #[test]
    fn the_window_keeps_the_newest_pages_and_finds_what_follows_a_cursor() {
        let mut w = Window::unread();
        (w.from, w.to) = (10, 10);
        w.push(vec![event(11), event(12), event(14)], 5);
        w.push(vec![event(15), event(17)], 5);
        assert_eq!((w.from, w.to), (10, 17));
        assert!(w.covers(10) && !w.covers(9));
        assert_eq!(seqs(w.after(10)), [11, 12, 14, 15, 17]);
        assert_eq!(seqs(w.after(13)), [14, 15, 17]);
        assert_eq!(seqs(w.after(14)), [15, 17]);
        assert_eq!(seqs(w.after(17)), Vec::<i64>::new());
        // Past the capacity the oldest page goes, and the window covers less.
        w.push(vec![event(18)], 5);
        assert_eq!((w.from, w.to), (14, 18));
        assert!(!w.covers(12));
        assert_eq!(seqs(w.after(14)), [15, 17, 18]);
        // One page larger than the capacity is kept whole.
        w.push((19..30).map(event).collect(), 5);
        assert_eq!(w.from, 18);
        assert_eq!(seqs(w.after(27)), [28, 29]);
    }

    /// Waits up to 10 s for the published window to satisfy `ok`.
    async fn published(tail: &EventTail, ok: impl Fn(&Window) -> bool) -> bool {
        for _ in 0..200 {
            if ok(&tail.publish.borrow()) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    }

    /// With nobody following, the log is not read; a subscriber starts the
    /// reads from the log's end, and when the last one leaves they stop.
    #[tokio::test]
    async fn the_tail_reads_the_log_only_while_somebody_follows_it() {
        let path = std::env::temp_dir().join(format!("jixiao-tail-{}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        let events = jixiao_queue::InProcessEvents::new();
        let (_stop, stopping) = watch::channel(false);
        let tail = EventTail::start(store.clone(), &events, stopping, 100);
        let record = || async {
            let e = store
                .record_event("exported", "", "湖南省", "", 2024, 0, String::new())
                .await
                .unwrap();
            events.published(e.seq);
            e.seq
        };

        let unfollowed = record().await;
        // Give an idle reader time to (wrongly) read it: it would publish a window.
        tokio::time::sleep(EVENT_POLL * 2).await;
        assert!(!tail.publish.borrow().covers(unfollowed));

        let watch = tail.subscribe();
        assert!(published(&tail, |w| w.covers(unfollowed)).await);
        let followed = record().await;
        assert!(published(&tail, |w| w.to == followed).await);
        assert_eq!(seqs(watch.borrow().after(unfollowed)), [followed]);

        drop(watch);
        record().await;
        assert!(published(&tail, |w| !w.covers(followed)).await);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
