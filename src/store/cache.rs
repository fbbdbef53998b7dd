//! Reads that every booking and API call makes and that change rarely, kept for a few
//! seconds: the active programs and the API keys. A change made through this process is seen
//! at once (it drops the cached copy); one made by another instance within [`TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ApiKeyRecord;
use crate::domain::model::Program;

/// How long another instance's change to a program or key may go unseen.
pub const TTL: Duration = Duration::from_secs(5);

/// Keys kept at most; beyond that the cache starts afresh (keys are few in practice).
const MAX_KEYS: usize = 1_000;

#[derive(Default)]
pub(super) struct Cache {
    programs: Mutex<Option<(Instant, Arc<Vec<Program>>)>>,
    /// Moves on every change of a program, so a read that began before it is not kept.
    programs_generation: AtomicU64,
    api_keys: Mutex<HashMap<String, (Instant, ApiKeyRecord)>>,
    /// Moves on every revocation, so a key read before it is not kept.
    api_keys_generation: AtomicU64,
}

fn fresh(at: Instant) -> bool {
    at.elapsed() < TTL
}

impl Cache {
    /// The cached programs, or the generation to hand back with a fresh read.
    pub(super) fn active_programs(&self) -> Result<Arc<Vec<Program>>, u64> {
        let guard = self.programs.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .filter(|(at, _)| fresh(*at))
            .map(|(_, p)| Arc::clone(p))
            .ok_or_else(|| self.programs_generation.load(Ordering::SeqCst))
    }

    /// Keeps `programs` read at `generation` unless a program changed since.
    pub(super) fn set_active_programs(&self, programs: Arc<Vec<Program>>, generation: u64) {
        let mut guard = self.programs.lock().unwrap_or_else(|e| e.into_inner());
        if self.programs_generation.load(Ordering::SeqCst) == generation {
            *guard = Some((Instant::now(), programs));
        }
    }

    pub(super) fn forget_programs(&self) {
        let mut guard = self.programs.lock().unwrap_or_else(|e| e.into_inner());
        self.programs_generation.fetch_add(1, Ordering::SeqCst);
        *guard = None;
    }

    /// The cached live key, or the generation to hand back with a fresh read.
    pub(super) fn api_key(&self, id: &str) -> Result<ApiKeyRecord, u64> {
        let guard = self.api_keys.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .get(id)
            .filter(|(at, _)| fresh(*at))
            .map(|(_, k)| k.clone())
            .ok_or_else(|| self.api_keys_generation.load(Ordering::SeqCst))
    }

    /// Keeps `key` read at `generation` unless a key was revoked since.
    pub(super) fn set_api_key(&self, key: ApiKeyRecord, generation: u64) {
        let mut guard = self.api_keys.lock().unwrap_or_else(|e| e.into_inner());
        if self.api_keys_generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if guard.len() >= MAX_KEYS {
            guard.clear();
        }
        guard.insert(key.id.as_str().to_owned(), (Instant::now(), key));
    }

    /// Keeps a cached key's `last_used_at` in step with the row.
    pub(super) fn note_api_key_use(&self, id: &str, at: chrono::DateTime<chrono::Utc>) {
        let mut guard = self.api_keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, key)) = guard.get_mut(id) {
            key.last_used_at = Some(at);
        }
    }

    pub(super) fn forget_api_key(&self, id: &str) {
        let mut guard = self.api_keys.lock().unwrap_or_else(|e| e.into_inner());
        self.api_keys_generation.fetch_add(1, Ordering::SeqCst);
        guard.remove(id);
    }
}
