//! The KV caches the language model worker keeps between turns, by conversation id.

use std::collections::HashMap;

use crate::llm::Conversation;

/// Memory a cached value holds (for the caches' byte budget).
pub(super) trait CacheSize {
    fn cache_bytes(&self) -> usize;
}

impl CacheSize for Conversation {
    fn cache_bytes(&self) -> usize {
        Conversation::cache_bytes(self)
    }
}

/// KV caches by conversation id, least recently used evicted first.
pub(super) struct ConversationCaches<T> {
    capacity: usize,
    budget_bytes: usize,
    entries: HashMap<String, (T, u64)>,
    clock: u64,
}

impl<T: CacheSize> ConversationCaches<T> {
    pub(super) fn new(capacity: usize, budget_bytes: usize) -> Self {
        Self {
            capacity,
            budget_bytes,
            entries: HashMap::new(),
            clock: 0,
        }
    }

    pub(super) fn peek(&self, id: &str) -> Option<&T> {
        self.entries.get(id).map(|(conversation, _)| conversation)
    }

    pub(super) fn take(&mut self, id: &str) -> Option<T> {
        self.entries
            .remove(id)
            .map(|(conversation, _)| conversation)
    }

    /// Keeps `conversation`, then evicts the least recently used ones while there are more
    /// than `capacity` or they hold more than `budget_bytes` (the newest is always kept).
    pub(super) fn put(&mut self, id: String, conversation: T) {
        self.clock += 1;
        self.entries.insert(id, (conversation, self.clock));
        while self.entries.len() > 1
            && (self.entries.len() > self.capacity || self.bytes() > self.budget_bytes)
        {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    self.entries.remove(&id);
                }
                None => break,
            }
        }
    }

    fn bytes(&self) -> usize {
        self.entries.values().map(|(c, _)| c.cache_bytes()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{CacheSize, ConversationCaches};

    impl CacheSize for u32 {
        fn cache_bytes(&self) -> usize {
            *self as usize
        }
    }

    #[test]
    fn evicts_the_least_recently_used_conversation() {
        let mut caches = ConversationCaches::new(2, usize::MAX);
        caches.put("a".into(), 1);
        caches.put("b".into(), 2);
        let a = caches.take("a").expect("a is cached");
        caches.put("a".into(), a);
        caches.put("c".into(), 3);
        assert_eq!(caches.take("b"), None, "b was used least recently");
        assert_eq!(caches.take("a"), Some(1));
        assert_eq!(caches.take("c"), Some(3));
    }

    #[test]
    fn evicts_the_oldest_conversations_past_the_byte_budget() {
        let mut caches = ConversationCaches::new(10, 100);
        caches.put("a".into(), 40);
        caches.put("b".into(), 40);
        caches.put("c".into(), 40);
        assert_eq!(
            caches.take("a"),
            None,
            "a, the oldest, made the total 120 > 100"
        );
        assert_eq!(caches.take("b"), Some(40));
        caches.put("big".into(), 500);
        assert_eq!(
            caches.take("big"),
            Some(500),
            "the newest is kept even over budget"
        );
        assert_eq!(caches.take("c"), None);
    }
}
