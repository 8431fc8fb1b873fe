//! Toasts: short messages about the result of a click, announced to screen readers.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// The app's toast queue, provided as context.
#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

impl Toasts {
    pub fn new() -> Self {
        Self {
            items: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
        }
    }

    /// A new queue for this island and what it contains (each island shows its own toasts,
    /// in its own `ToastRegion`).
    pub fn provide() -> Self {
        let toasts = Self::new();
        provide_context(toasts);
        toasts
    }

    /// Shows `message`; it goes away by itself after a few seconds, or on its close button.
    pub fn push(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.items.update(|items| {
            items.push(Toast {
                id,
                kind,
                message: message.into(),
            });
            // Keep the stack short on a busy screen.
            if items.len() > 4 {
                items.remove(0);
            }
        });
        let items = self.items;
        set_timeout(
            move || items.update(|items| items.retain(|t| t.id != id)),
            std::time::Duration::from_secs(if kind == ToastKind::Error { 10 } else { 6 }),
        );
    }

    fn dismiss(&self, id: u64) {
        self.items.update(|items| items.retain(|t| t.id != id));
    }
}

#[component]
pub fn ToastRegion() -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.items.get() key=|t| t.id let:toast>
                <div class=format!(
                    "toast toast--{}",
                    match toast.kind {
                        ToastKind::Success => "success",
                        ToastKind::Error => "error",
                    },
                )>
                    <span class="toast__message">{toast.message.clone()}</span>
                    <button
                        type="button"
                        class="toast__close"
                        aria-label="Dismiss"
                        on:click=move |_| toasts.dismiss(toast.id)
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
