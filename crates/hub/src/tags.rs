//! Groups and metadata of connections: named groups a connection joins and leaves (a group exists while it has
//! members) and small key–value metadata. Both are kept with the connection, bounded per connection, and dropped
//! when it is unregistered. The group index is one lock, always taken before a connection's tags lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use parking_lot::RwLock;

use crate::ConnectionId;

/// A connection's groups and metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags {
    pub groups: BTreeSet<String>,
    pub metadata: BTreeMap<String, String>,
}

/// How many groups and metadata pairs one connection may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagLimits {
    pub groups: usize,
    pub metadata: usize,
}

/// A change of a connection's tags: groups joined then left, metadata keys set then removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChange {
    pub join: Vec<String>,
    pub leave: Vec<String>,
    pub set: BTreeMap<String, String>,
    pub unset: Vec<String>,
}

/// Why a change was refused; nothing of it was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagError {
    /// The connection is unregistered.
    Gone,
    /// The connection would be in more groups than the limit.
    TooManyGroups,
    /// The connection would have more metadata pairs than the limit.
    TooManyMetadata,
}

/// A connection's tags and whether it was unregistered (then no change applies).
#[derive(Debug, Default)]
pub(crate) struct TagCell {
    pub(crate) tags: Tags,
    pub(crate) removed: bool,
}

/// The members of each group, by name.
#[derive(Debug, Default)]
pub(crate) struct GroupIndex(pub(crate) RwLock<HashMap<String, HashSet<ConnectionId>>>);

impl TagCell {
    /// Applies `change` within `limits`, keeping `index` in step; the tags after it.
    pub(crate) fn apply(
        &mut self,
        id: ConnectionId,
        index: &mut HashMap<String, HashSet<ConnectionId>>,
        change: &TagChange,
        limits: TagLimits,
    ) -> Result<Tags, TagError> {
        if self.removed {
            return Err(TagError::Gone);
        }
        let mut next = self.tags.clone();
        next.groups.extend(change.join.iter().cloned());
        for group in &change.leave {
            next.groups.remove(group);
        }
        next.metadata.extend(change.set.iter().map(|(k, v)| (k.clone(), v.clone())));
        for key in &change.unset {
            next.metadata.remove(key);
        }
        if next.groups.len() > limits.groups {
            return Err(TagError::TooManyGroups);
        }
        if next.metadata.len() > limits.metadata {
            return Err(TagError::TooManyMetadata);
        }
        for joined in next.groups.difference(&self.tags.groups) {
            index.entry(joined.clone()).or_default().insert(id);
        }
        for left in self.tags.groups.difference(&next.groups) {
            leave(index, left, id);
        }
        self.tags = next;
        Ok(self.tags.clone())
    }

    /// The connection is unregistered: it leaves every group and takes no more changes.
    pub(crate) fn remove(&mut self, id: ConnectionId, index: &mut HashMap<String, HashSet<ConnectionId>>) {
        self.removed = true;
        for group in &self.tags.groups {
            leave(index, group, id);
        }
    }
}

/// `id` leaves `group`, which disappears with its last member.
fn leave(index: &mut HashMap<String, HashSet<ConnectionId>>, group: &str, id: ConnectionId) {
    if let Some(members) = index.get_mut(group) {
        members.remove(&id);
        if members.is_empty() {
            index.remove(group);
        }
    }
}
