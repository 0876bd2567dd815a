//! A call counter: an SDK interceptor that counts requests, attempts and items read per operation, for the
//! call-budget tests and benchmarks.

use super::*;

/// Counts SDK calls per operation name (`"BatchGetItem"`, `"TransactWriteItems"`, ...), for benchmarks and the
/// call-budget tests. Clones share the counts. Attach it with [`dynamodb_client`] or [`DynamoStore::with_counter`].
///
/// [`CallCounter::get`] counts operations as the store issued them (one per SDK `send`);
/// [`CallCounter::attempts`] counts HTTP attempts, which also include the SDK's own retries;
/// [`CallCounter::items_read`] counts the items the successful responses report read: `ScannedCount` of `Query`
/// (items counted by `Select COUNT` included), the items returned by `GetItem` and `BatchGetItem`.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>,
    attempts: Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>,
    items: Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>,
}

impl CallCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Operations named `operation` issued so far.
    pub fn get(&self, operation: &str) -> u64 {
        read(&self.calls, operation)
    }

    /// HTTP attempts of `operation` so far (retries included).
    pub fn attempts(&self, operation: &str) -> u64 {
        read(&self.attempts, operation)
    }

    /// Items read by `operation` so far (see the type's documentation).
    pub fn items_read(&self, operation: &str) -> u64 {
        read(&self.items, operation)
    }

    /// Items read by every operation so far.
    pub fn items_read_total(&self) -> u64 {
        lock(&self.items).values().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// All operations issued so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Operation name → operations issued, for every operation with a non-zero count.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        lock(&self.calls)
            .iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for map in [&self.calls, &self.attempts, &self.items] {
            for counter in lock(map).values() {
                counter.store(0, Ordering::Relaxed);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counts stay meaningful even if a holder panicked.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read(map: &Mutex<HashMap<String, Arc<AtomicU64>>>, operation: &str) -> u64 {
    lock(map).get(operation).map_or(0, |c| c.load(Ordering::Relaxed))
}

fn bump(map: &Mutex<HashMap<String, Arc<AtomicU64>>>, cfg: &ConfigBag) {
    add(map, cfg, 1);
}

fn add(map: &Mutex<HashMap<String, Arc<AtomicU64>>>, cfg: &ConfigBag, n: u64) {
    let name = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
    let counter = {
        let mut map = lock(map);
        match map.get(name) {
            Some(c) => Arc::clone(c),
            None => Arc::clone(map.entry(name.to_string()).or_default()),
        }
    };
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Items a successful response reports read, for the operations that read items.
fn items_in(output: &aws_smithy_runtime_api::client::interceptors::context::Output) -> Option<u64> {
    use aws_sdk_dynamodb::operation::{
        batch_get_item::BatchGetItemOutput, get_item::GetItemOutput, query::QueryOutput,
    };
    if let Some(out) = output.downcast_ref::<QueryOutput>() {
        return Some(u64::try_from(out.scanned_count).unwrap_or(0));
    }
    if let Some(out) = output.downcast_ref::<GetItemOutput>() {
        return Some(u64::from(out.item.is_some()));
    }
    output
        .downcast_ref::<BatchGetItemOutput>()
        .map(|out| out.responses.as_ref().map_or(0, |r| r.values().map(|items| items.len() as u64).sum()))
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "fd-call-counter"
    }

    // Not `read_before_execution`: client-level interceptors run that before the operation's `Metadata` is in the
    // config bag. Serialisation happens once per operation, before the retry loop.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        bump(&self.calls, cfg);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        bump(&self.attempts, cfg);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(n) = context.output_or_error().ok().and_then(items_in) {
            add(&self.items, cfg, n);
        }
        Ok(())
    }
}
