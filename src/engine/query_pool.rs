//! One query's share of a shared session's memory pool. A server's queries draw from one pool; without
//! shares, one query that holds what cannot spill (an `array_agg` over millions of rows) takes the whole
//! limit and the dashboards running beside it fail ("Not enough memory to continue external sort").
//! Each query of the server gets its own pool that forwards to the session's but refuses to grow past the
//! query's share (the limit divided by the queries allowed at once): sorts and aggregations spill at their
//! share, what cannot spill fails alone, with a message naming the share.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::{Result, resources_err};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::execution::runtime_env::RuntimeEnv;

/// A pool that holds at most `share` bytes of its parent.
#[derive(Debug)]
pub struct QueryPool {
    parent: Arc<dyn MemoryPool>,
    share: usize,
    used: AtomicUsize,
}

impl QueryPool {
    pub fn new(parent: Arc<dyn MemoryPool>, share: usize) -> Self {
        Self {
            parent,
            share,
            used: AtomicUsize::new(0),
        }
    }
}

impl std::fmt::Display for QueryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query share({} of {})", self.share, self.parent)
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "query share"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.parent.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.parent.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.used.fetch_add(additional, Ordering::SeqCst);
        self.parent.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                Some(u.saturating_sub(shrink))
            });
        self.parent.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let share = self.share;
        let taken = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                u.checked_add(additional).filter(|n| *n <= share)
            });
        if let Err(used) = taken {
            return resources_err!(
                "Failed to allocate additional {additional} bytes for {}: this query holds {used} bytes \
                     and its share of the memory limit is {share} bytes (the limit divided by the queries \
                     allowed at once)",
                reservation.consumer().name()
            );
        }
        if let Err(e) = self.parent.try_grow(reservation, additional) {
            self.used.fetch_sub(additional, Ordering::SeqCst);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.share)
    }
}

/// `state` with its memory pool replaced by a share of `share` bytes of it; catalogs, functions, caches and
/// object stores stay the session's.
pub fn with_share(state: SessionState, share: usize) -> SessionState {
    let shared = state.runtime_env();
    let runtime = RuntimeEnv {
        memory_pool: Arc::new(QueryPool::new(Arc::clone(&shared.memory_pool), share)),
        disk_manager: Arc::clone(&shared.disk_manager),
        cache_manager: Arc::clone(&shared.cache_manager),
        object_store_registry: Arc::clone(&shared.object_store_registry),
    };
    SessionStateBuilder::new_from_existing(state)
        .with_runtime_env(Arc::new(runtime))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    #[test]
    fn a_query_grows_to_its_share_and_gives_it_back() {
        let parent: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let share: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(Arc::clone(&parent), 300));
        let other: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(Arc::clone(&parent), 300));
        let a = MemoryConsumer::new("a").register(&share);
        a.try_grow(300).expect("within the share");
        let e = a.try_grow(1).expect_err("past the share");
        assert!(
            e.to_string().contains("share of the memory limit is 300"),
            "{e}"
        );
        assert_eq!(parent.reserved(), 300);
        // Another query's share is its own.
        let b = MemoryConsumer::new("b").register(&other);
        b.try_grow(300).expect("the other share");
        assert_eq!(parent.reserved(), 600);
        drop(a);
        assert_eq!((share.reserved(), parent.reserved()), (0, 300));
        let c = MemoryConsumer::new("c").register(&share);
        c.try_grow(250).expect("given back");
    }
}
