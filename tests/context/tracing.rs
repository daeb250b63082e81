//! With the `tracing` feature, the caller's span is the current span inside
//! the blocking job, on a pool thread or a separate one.

#![cfg(feature = "tracing")]

use threadbridge::{threaded, threaded_separate, ThreadPool};
use tracing::Span;

#[test]
fn the_callers_span_is_current_inside_the_job() {
    // A scoped subscriber: the pool threads do not have it by themselves.
    let subscriber = tracing_subscriber::registry();
    tracing::subscriber::with_default(subscriber, || {
        let pool = ThreadPool::new(2);
        let current = threaded(|| Span::current().id()).with_pool(&pool);
        let separate = threaded_separate(|| Span::current().id());

        let span = tracing::info_span!("request", user = 7);
        let expected = span.id();
        assert!(expected.is_some());
        let (pooled, own) = span.in_scope(|| (current.call(()), separate.call(())));
        assert_eq!(futures::executor::block_on(pooled), expected);
        assert_eq!(futures::executor::block_on(own), expected);

        // Outside the span, the job sees no span.
        assert_eq!(futures::executor::block_on(current.call(())), None);
    });
}
