//! Arm-then-confirm, for buttons that act at once (a device command, revoking a key): the
//! first click arms the button ("Confirm …?"), a second click within [`ARMED_FOR`] goes
//! ahead. Without the wasm the forms post at once; the server's rules still apply.

use leptos::prelude::*;

/// How long an armed button waits for its second click.
pub const ARMED_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// Which of a group of buttons is armed, by key (one command of a card's five, one key of
/// the table's rows). At most one at a time per group.
pub struct TwoClicks<K: 'static> {
    armed: RwSignal<Option<K>>,
    /// Counts armings, so a timer disarms only the arming that started it (arm A, arm B,
    /// arm A again: the first timer must not cut the second A short).
    armings: RwSignal<u64>,
}

impl<K: 'static> Clone for TwoClicks<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: 'static> Copy for TwoClicks<K> {}

impl<K> TwoClicks<K>
where
    K: Copy + PartialEq + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            armed: RwSignal::new(None),
            armings: RwSignal::new(0),
        }
    }

    /// Called on a click: true when `key` was armed (it is disarmed now: go ahead); otherwise
    /// arms `key` for [`ARMED_FOR`] and returns false.
    pub fn second_click(&self, key: K) -> bool {
        if self.armed.get_untracked() == Some(key) {
            self.armed.set(None);
            return true;
        }
        self.armed.set(Some(key));
        self.armings.update(|n| *n += 1);
        let (armed, armings, this_arming) =
            (self.armed, self.armings, self.armings.get_untracked());
        set_timeout(
            move || {
                if armings.try_get_untracked() == Some(this_arming) {
                    armed.try_set(None);
                }
            },
            ARMED_FOR,
        );
        false
    }

    /// Whether `key` waits for its second click (tracked: for the button's label and class).
    pub fn is_armed(&self, key: K) -> bool {
        self.armed.get() == Some(key)
    }

    /// Nothing armed (another way of confirming went ahead).
    pub fn disarm(&self) {
        self.armed.set(None);
    }
}

impl<K> Default for TwoClicks<K>
where
    K: Copy + PartialEq + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}
