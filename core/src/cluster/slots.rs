//! Per-ticket state of a driver: what a transport keeps beside each
//! ticket it waits on (a waker, the caller's own id), under the ticket's
//! small index, so every driver does not grow its own table.

use alloc::vec::Vec;

use super::Ticket;

/// A value per live [`Ticket`], stored under the ticket's
/// [`index`](Ticket::index) and checked against the whole ticket, so a
/// value left behind for a ticket whose index was reused is never handed
/// to the new one.
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
pub struct TicketSlots<T> {
    slots: Vec<Option<(Ticket, T)>>,
}

impl<T> Default for TicketSlots<T> {
    fn default() -> Self {
        TicketSlots { slots: Vec::new() }
    }
}

impl<T> TicketSlots<T> {
    /// Creates an empty table; does not allocate.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` for `ticket`, replacing whatever its index held.
    pub fn insert(&mut self, ticket: Ticket, value: T) {
        let i = ticket.index();
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i] = Some((ticket, value));
    }

    /// Returns the value of `ticket`, if one is stored for this very ticket.
    pub fn get_mut(&mut self, ticket: Ticket) -> Option<&mut T> {
        match self.slots.get_mut(ticket.index()) {
            Some(Some((t, v))) if *t == ticket => Some(v),
            _ => None,
        }
    }

    /// Takes the value of `ticket` out, if one is stored for this very
    /// ticket (a value of another ticket under the same index stays).
    pub fn remove(&mut self, ticket: Ticket) -> Option<T> {
        let slot = self.slots.get_mut(ticket.index())?;
        if slot.as_ref().is_some_and(|(t, _)| *t == ticket) {
            slot.take().map(|(_, v)| v)
        } else {
            None
        }
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(index: u32, generation: u32) -> Ticket {
        Ticket { index, generation }
    }

    #[test]
    fn a_reused_index_does_not_hand_over_the_old_value() {
        let mut slots = TicketSlots::new();
        slots.insert(ticket(3, 0), 'a');
        assert_eq!(slots.get_mut(ticket(3, 1)), None);
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
}
