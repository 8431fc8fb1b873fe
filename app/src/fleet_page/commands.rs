//! A card's command panel: the five device commands behind a disclosure, each a form that
//! asks for confirmation, and the server function that runs them.

use fleet::model::{AuditOutcome, CommandResult};
use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use pickyassist::Command;

use crate::{
    confirm::TwoClicks,
    error::AppError,
    form::send_with,
    toast::{ToastKind, Toasts},
};

/// Runs a device command. `confirm_name` must repeat the project name for disconnect and
/// clearlogs; the service checks it, whatever the page did.
#[server(prefix = "/fn", endpoint = "run_command")]
pub async fn run_command(
    project_id: i64,
    command: Command,
    confirm_name: Option<String>,
) -> Result<CommandResult, AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    Ok(fleet
        .run_command(&actor, project_id, command, confirm_name.as_deref())
        .await?)
}

/// What the cards of someone allowed to run commands need for their panels.
#[derive(Clone, Copy)]
pub(super) struct CommandAccess {
    /// `?commands=ID`: the card whose panel the server renders open.
    pub(super) open_for: Option<i64>,
    pub(super) toasts: Toasts,
    /// The projects ticked for a bulk command.
    pub(super) selection: super::bulk::Selection,
}

/// The five commands behind a disclosure, so the card stays calm until someone means it.
///
/// The forms are made when the disclosure is first opened, not with the page: five forms on
/// each of dozens of cards were most of what a fleet page cost to render, for panels that are
/// rarely opened. Without JavaScript the closed panel holds a link to `?commands=ID`, and the
/// server renders that card's panel open, with forms that post as they are. With JavaScript
/// commands ask for confirmation, show a pending state and end in a toast; one at a time per
/// card.
#[component]
pub(super) fn CommandPanel(
    project_id: i64,
    project_name: String,
    access: CommandAccess,
    /// Set by the card's advice too, which opens the panel at its suggested command.
    opened: RwSignal<bool>,
) -> impl IntoView {
    let asked = access.open_for == Some(project_id);
    if asked {
        opened.set(true);
    }
    let toasts = access.toasts;
    let forms = move || {
        // Shared by the five forms: which one waits for its second click, which one is on
        // its way. Made with the forms, like everything else the panel needs.
        let armed = TwoClicks::<Command>::new();
        let action = ServerAction::<RunCommand>::new();
        Effect::new(move |_| match action.value().get() {
            Some(Ok(done)) => toasts.push(toast_kind(&done), toast_message(&done)),
            Some(Err(error)) => toasts.push(ToastKind::Error, error.to_string()),
            None => {}
        });
        Command::ALL
            .into_iter()
            .map(|command| {
                view! {
                    <CommandForm
                        project_id
                        project_name=project_name.clone()
                        command
                        armed
                        action
                        toasts
                    />
                }
            })
            .collect_view()
    };
    view! {
        <details class="commands" open=asked prop:open=move || opened.get() on:toggle=move |_| {
            // Once: setting it again on a close would make the forms (and a command on its
            // way, with its toast) anew.
            if !opened.get_untracked() {
                opened.set(true);
            }
        }>
            <summary class="commands__toggle">"Commands"</summary>
            {move || {
                if opened.get() {
                    Either::Left(view! {
                        <div class="commands__list">{forms()}</div>
                        <a class="commands__guide" href=format!("/projects/{project_id}/connect-another-number")>
                            "Connect another number…"
                        </a>
                    })
                } else {
                    Either::Right(view! {
                        <a class="commands__open" href=format!("/?commands={project_id}#card-{project_id}-name")>
                            "Show the commands"
                        </a>
                    })
                }
            }}
        </details>
    }
}

#[component]
fn CommandForm(
    project_id: i64,
    project_name: String,
    command: Command,
    armed: TwoClicks<Command>,
    action: ServerAction<RunCommand>,
    toasts: Toasts,
) -> impl IntoView {
    // First click arms the button ("Confirm …?"); the second sends. Destructive commands
    // instead need the project name typed out (and only they keep what was typed).
    let destructive = command.is_destructive();
    let typed = destructive.then(|| RwSignal::new(String::new()));
    let name_for_check = project_name.clone();
    let on_submit = send_with(action, move |_| {
        let confirm_name = match typed {
            Some(typed) => {
                let name = typed.get_untracked();
                if name.trim() != name_for_check {
                    toasts.push(
                        ToastKind::Error,
                        format!("Type {name_for_check:?} exactly to confirm."),
                    );
                    return None;
                }
                typed.set(String::new());
                Some(name)
            }
            None if !armed.second_click(command) => return None,
            None => None,
        };
        armed.disarm();
        Some(RunCommand {
            project_id,
            command,
            confirm_name,
        })
    });
    let is_armed = move || armed.is_armed(command);
    // One command at a time per card: while one is on its way, all five wait.
    let pending = action.pending();
    let sending = move || pending.get();
    let is_sending = move || {
        sending()
            && action
                .input()
                .with(|input| input.as_ref().is_some_and(|i| i.command == command))
    };
    let field_id = format!("confirm-{project_id}-{}", command.wire_name());
    let label = command.label();
    view! {
        <form
            class="command"
            class:command--destructive=destructive
            method="post"
            action=RunCommand::url()
            on:submit=on_submit
        >
            <input type="hidden" name="project_id" value=project_id/>
            <input type="hidden" name="command" value=command.wire_name()/>
            <div class="command__text">
                <strong>{label}</strong>
                <p>{command.explanation()}</p>
            </div>
            {typed.map(|typed| view! {
                <label class="command__confirm" for=field_id.clone()>
                    "Type " <b>{project_name.clone()}</b> " to confirm"
                </label>
                <input
                    id=field_id.clone()
                    name="confirm_name"
                    autocomplete="off"
                    required
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                />
            })}
            <button
                type="submit"
                class="btn"
                class:btn--danger=destructive
                class:btn--armed=is_armed
                data-command=command.wire_name()
                aria-busy=move || is_sending().to_string()
                disabled=sending
            >
                {move || {
                    if is_sending() {
                        "Sending…".to_owned()
                    } else if is_armed() {
                        format!("Confirm: {label}?")
                    } else {
                        label.to_owned()
                    }
                }}
            </button>
        </form>
    }
}

fn toast_kind(result: &CommandResult) -> ToastKind {
    if result.outcome == AuditOutcome::Success {
        ToastKind::Success
    } else {
        ToastKind::Error
    }
}

fn toast_message(result: &CommandResult) -> String {
    if result.outcome == AuditOutcome::Success {
        format!(
            "{} sent to {}: {} ({} ms)",
            result.command.label(),
            result.project_name,
            result.message,
            result.upstream_latency_ms
        )
    } else {
        format!(
            "{} on {} failed ({}): {}",
            result.command.label(),
            result.project_name,
            result.outcome.label(),
            result.message
        )
    }
}
