//! An order-preserving parallel map for the pipeline's independent per-item
//! work (rendering scope instances, parsing, ordering and serializing
//! objects). Results come back in input order, so output is the same bytes
//! however the threads are scheduled. Entry points: [`map`] for many items,
//! [`split`] to fold chunks, [`join`] for two independent stages.

use std::num::NonZeroUsize;

/// Applies `f` to every item on up to one thread per core and returns the
/// results in the order of `items`.
pub fn map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    map_with(items, || (), |(), item| f(item))
}

/// Like [`map`], with a per-thread state made by `init` and lent to `f` for
/// each item, for work that reuses a buffer or context between items.
pub fn map_with<T: Send, U: Send, S>(
    items: Vec<T>,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, T) -> U + Sync,
) -> Vec<U> {
    // Starting a thread costs tens of microseconds, far less than rendering,
    // parsing or layering a single item, so even two items are worth it.
    let threads = cores().min(items.len()).max(1);
    if threads == 1 {
        let mut state = init();
        return items.into_iter().map(|item| f(&mut state, item)).collect();
    }
    let chunk_size = items.len().div_ceil(threads);
    let mut chunks = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    loop {
        let chunk: Vec<T> = rest.by_ref().take(chunk_size).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let (init, f) = (&init, &f);
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    let mut state = init();
                    chunk.into_iter().map(|item| f(&mut state, item)).collect::<Vec<U>>()
                })
            })
            .collect();
        workers
            .into_iter()
            // A panic in `f` is a bug in kiln; re-raise it on the calling thread.
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// `items` in one contiguous chunk per core, for work that folds many items
/// into one result per thread.
pub fn split<T>(items: &[T]) -> Vec<&[T]> {
    items.chunks(items.len().div_ceil(cores()).max(1)).collect()
}

/// The cores kiln may use, asked once per process: std reads the cgroup
/// files again on every call (4 % of a small render's time, measured under
/// the render_values fuzz target, docs/fuzzing.md).
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Runs `a` on a new thread and `b` on this one, and returns both results:
/// for independent stages that would otherwise wait for each other.
pub fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        // A panic in `a` is a bug in kiln; re-raise it on the calling thread.
        (a.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        let doubled = map(items, |n| n * 2);
        assert_eq!(doubled, (0..1000).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn each_thread_gets_its_own_state() {
        let counts = map_with((0..100).collect(), Vec::new, |seen: &mut Vec<i32>, n| {
            seen.push(n);
            seen.len()
        });
        assert_eq!(counts.len(), 100);
        assert_eq!(counts[0], 1, "the first item of a thread sees a fresh state");
    }

    #[test]
    fn handles_small_and_empty_inputs() {
        assert_eq!(map(vec![1, 2, 3], |n| n + 1), vec![2, 3, 4]);
        assert!(map(Vec::<u8>::new(), |n| n).is_empty());
    }

    #[test]
    fn split_covers_every_item_once_in_order() {
        let items: Vec<u32> = (0..7).collect();
        let chunks = split(&items);
        assert!(chunks.len() <= cores().max(1));
        assert_eq!(chunks.concat(), items);
        assert!(split(&Vec::<u32>::new()).iter().all(|chunk| chunk.is_empty()));
    }

    #[test]
    fn join_returns_both_results() {
        assert_eq!(join(|| 1 + 1, || "two"), (2, "two"));
    }
}
