//! The viewer's display preferences: the theme (a cookie the server renders into
//! `<html data-theme>`, so the first paint is right) and the time zone the pages show times in.

use fleet::model::Role;
use reqwest::{header, StatusCode};

use crate::helpers::{spawn_app, UserClient};

async fn sign_in_page(client: &UserClient) -> String {
    client
        .get_page("/sign-in")
        .await
        .text()
        .await
        .expect("html")
}

#[tokio::test]
async fn the_theme_button_remembers_the_choice_and_the_server_renders_it() {
    let app = spawn_app().await;
    let client = app.anonymous();

    // Nobody chose: the OS decides, nothing is forced.
    let page = sign_in_page(&client).await;
    assert!(
        page.contains("<html lang=\"en\">"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(
        page.contains("name=\"theme\" value=\"dark\""),
        "the button offers dark next"
    );

    let answer = client
        .submit_form(
            "/fn/theme",
            &[("theme", "dark"), ("back", "/sign-in?next=%2Faudit")],
        )
        .await;
    assert!(answer.status().is_redirection(), "{}", answer.status());
    assert_eq!(answer.headers()[header::LOCATION], "/sign-in?next=%2Faudit");
    let cookie = answer.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie");
    assert!(
        cookie.starts_with("theme=dark;") && cookie.contains("Max-Age=31536000"),
        "{cookie}"
    );
    let page = sign_in_page(&client).await;
    assert!(
        page.contains("<html lang=\"en\" data-theme=\"dark\">"),
        "the dark theme is rendered"
    );
    assert!(
        page.contains("name=\"theme\" value=\"light\""),
        "the button offers light next"
    );

    // Back to the system's: the cookie goes.
    let answer = client
        .submit_form("/fn/theme", &[("theme", "system"), ("back", "/sign-in")])
        .await;
    let cookie = answer.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let page = sign_in_page(&client).await;
    assert!(page.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn a_bad_theme_is_refused_and_the_way_back_stays_on_this_site() {
    let app = spawn_app().await;
    let client = app.anonymous();
    // From a page without JavaScript (Leptos sends the browser back) and from a script.
    let from_a_form = client
        .submit_form("/fn/theme", &[("theme", "purple"), ("back", "/")])
        .await;
    assert!(from_a_form.headers().get(header::SET_COOKIE).is_none());
    let refused = client
        .post_form("/fn/theme", &[("theme", "purple"), ("back", "/")])
        .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert!(refused.headers().get(header::SET_COOKIE).is_none());
    assert!(refused
        .text()
        .await
        .expect("body")
        .contains("unknown theme"));

    for elsewhere in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let answer = client
            .submit_form("/fn/theme", &[("theme", "light"), ("back", elsewhere)])
            .await;
        assert_eq!(answer.headers()[header::LOCATION], "/", "{elsewhere}");
    }
}

/// The audit page as `name` sees it, signed in with a cookie jar that holds `cookies` too (as
/// the browser's wasm leaves the `tz` cookie).
async fn audit_page_with_cookies(
    app: &crate::helpers::TestApp,
    name: &str,
    cookies: &[&str],
) -> (StatusCode, String) {
    let url: reqwest::Url = app.address.parse().expect("url");
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    for cookie in cookies {
        jar.add_cookie_str(&format!("{cookie}; Path=/"), &url);
    }
    let http = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let client = UserClient {
        http,
        address: app.address.clone(),
    };
    let signed = client.sign_in(name, &format!("password-of-{name}")).await;
    assert!(signed.status().is_success() || signed.status().is_redirection());
    let page = client.get_page("/audit").await;
    let status = page.status();
    (status, page.text().await.expect("html"))
}

#[tokio::test]
async fn times_are_shown_in_the_viewers_zone_and_named() {
    let app = spawn_app().await;
    app.signed_in("zoe", Role::Admin).await;
    // Before the browser has said its zone: UTC, named so.
    let (status, html) = audit_page_with_cookies(&app, "zoe", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(" UTC<"),
        "audit times in UTC when no zone is known"
    );

    // India is UTC+05:30 all year: every time on the page says IST.
    let (_, in_india) = audit_page_with_cookies(&app, "zoe", &["tz=Asia/Kolkata"]).await;
    assert!(in_india.contains(" IST<"), "audit times named IST");
    assert!(!in_india.contains(" UTC<"), "no time left in UTC");

    // A zone that does not exist is ignored, not an error.
    let (status, nowhere) = audit_page_with_cookies(&app, "zoe", &["tz=Mars/Olympus_Mons"]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(nowhere.contains(" UTC<"));
}
