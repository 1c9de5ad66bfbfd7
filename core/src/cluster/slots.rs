//! Per-ticket and per-connection state of a driver: what a transport
//! keeps beside each ticket it waits on (a waker, the caller's own id) or
//! each connection it runs (its tasks, its socket), under the id's small
//! index, so every driver does not grow its own table.

use alloc::vec::Vec;

use super::{ConnId, Ticket};

/// An id with a small slot index, reused once the id is gone:
/// [`Ticket`] and [`ConnId`].
pub trait SlotKey: Copy + Eq {
    /// Returns the id's slot index.
    fn slot(self) -> usize;
}

impl SlotKey for Ticket {
    fn slot(self) -> usize {
        self.index()
    }
}

impl SlotKey for ConnId {
    fn slot(self) -> usize {
        self.index()
    }
}

/// A value per live ticket, as [`Slots`].
pub type TicketSlots<T> = Slots<Ticket, T>;

/// A value per live connection, as [`Slots`].
pub type ConnSlots<T> = Slots<ConnId, T>;

/// A value per live id, stored under the id's slot index and checked
/// against the whole id, so a value left behind for an id whose index was
/// reused is never handed to the new one.
///
/// It grows to the highest index seen and then stays: inserting and
/// removing do not allocate once it has.
///
/// # Example
///
/// ```
/// use memcrab_core::cluster::{slots::TicketSlots, Cluster, ClusterConfig};
/// use memcrab_core::{Millis, Request};
///
/// let mut cluster: Cluster<()> = Cluster::new(ClusterConfig::default(), ["a:11211"]);
/// let ticket = cluster.submit(Millis(0), &[Request::Version]).unwrap();
/// let mut waiting = TicketSlots::new();
/// waiting.insert(ticket, "caller 7");
/// assert_eq!(waiting.get_mut(ticket), Some(&mut "caller 7"));
/// assert_eq!(waiting.remove(ticket), Some("caller 7"));
/// assert_eq!(waiting.remove(ticket), None);
/// ```
#[derive(Debug, Clone)]
pub struct Slots<K, T> {
    slots: Vec<Option<(K, T)>>,
}

impl<K, T> Default for Slots<K, T> {
    fn default() -> Self {
        Slots { slots: Vec::new() }
    }
}

impl<K: SlotKey, T> Slots<K, T> {
    /// Creates an empty table; does not allocate.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` for `id`, replacing whatever its index held.
    pub fn insert(&mut self, id: K, value: T) {
        let i = id.slot();
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i] = Some((id, value));
    }

    /// Returns the value of `id`, if one is stored for this very id.
    pub fn get(&self, id: K) -> Option<&T> {
        match self.slots.get(id.slot()) {
            Some(Some((k, v))) if *k == id => Some(v),
            _ => None,
        }
    }

    /// Returns the value of `id` mutably, if one is stored for this very id.
    pub fn get_mut(&mut self, id: K) -> Option<&mut T> {
        match self.slots.get_mut(id.slot()) {
            Some(Some((k, v))) if *k == id => Some(v),
            _ => None,
        }
    }

    /// Takes the value of `id` out, if one is stored for this very id (a
    /// value of another id under the same index stays).
    pub fn remove(&mut self, id: K) -> Option<T> {
        let slot = self.slots.get_mut(id.slot())?;
        if slot.as_ref().is_some_and(|(k, _)| *k == id) {
            slot.take().map(|(_, v)| v)
        } else {
            None
        }
    }

    /// Returns every id and its value, by index.
    pub fn iter(&self) -> impl Iterator<Item = (K, &T)> {
        self.slots.iter().flatten().map(|(k, v)| (*k, v))
    }

    /// Returns every id and its value, mutably, by index.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (K, &mut T)> {
        self.slots.iter_mut().flatten().map(|(k, v)| (*k, v))
    }

    /// Removes every value, handing each over.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, T)> + '_ {
        self.slots.drain(..).flatten()
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn ticket(index: u32, generation: u32) -> Ticket {
        Ticket { index, generation }
    }

    #[test]
    fn a_reused_index_does_not_hand_over_the_old_value() {
        let mut slots = TicketSlots::new();
        slots.insert(ticket(3, 0), 'a');
        assert_eq!(slots.get_mut(ticket(3, 1)), None);
        assert_eq!(slots.get(ticket(3, 1)), None);
        assert_eq!(slots.get(ticket(3, 0)), Some(&'a'));
        assert_eq!(slots.remove(ticket(3, 1)), None);
        assert_eq!(slots.remove(ticket(3, 0)), Some('a'));
        slots.insert(ticket(3, 1), 'b');
        assert_eq!(slots.get_mut(ticket(3, 0)), None);
        assert_eq!(slots.get_mut(ticket(3, 1)), Some(&mut 'b'));
    }

    #[test]
    fn insert_replaces_and_clear_empties() {
        let mut slots = TicketSlots::new();
        assert_eq!(slots.remove(ticket(9, 0)), None);
        slots.insert(ticket(0, 0), 1);
        slots.insert(ticket(0, 0), 2);
        slots.insert(ticket(5, 0), 5);
        assert_eq!(slots.get_mut(ticket(0, 0)), Some(&mut 2));
        slots.clear();
        assert_eq!(slots.remove(ticket(0, 0)), None);
        assert_eq!(slots.remove(ticket(5, 0)), None);
    }

    #[test]
    fn iterates_and_drains_what_is_stored() {
        let mut slots = TicketSlots::new();
        slots.insert(ticket(4, 0), 4);
        slots.insert(ticket(1, 2), 1);
        for (_, v) in slots.iter_mut() {
            *v *= 10;
        }
        let seen: Vec<_> = slots.iter().map(|(t, v)| (t.index(), *v)).collect();
        assert_eq!(seen, [(1, 10), (4, 40)]);
        let drained: Vec<_> = slots.drain().collect();
        assert_eq!(drained, [(ticket(1, 2), 10), (ticket(4, 0), 40)]);
        assert_eq!(slots.iter().count(), 0);
    }
}
