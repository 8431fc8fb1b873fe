//! Bulk commands' pages: `/batches/new`, where a selection from the fleet page is named and
//! confirmed (`confirm`), and `/batches/{id}`, the batch's live per-project progress, which
//! a reload or the audit log's link reopens (`progress`).
//!
//! Both read and write through the service (`Fleet::preview_batch`, `start_batch`, …), with
//! plain forms; only the progress list is an island, lazy, so the fleet page's wasm does not
//! grow by it.

mod confirm;
mod progress;

pub use confirm::ConfirmBatchPage;
pub use progress::BatchPage;

/// "1,2,3" → ids; a bad one is named.
#[cfg(feature = "ssr")]
fn parse_ids(text: &str) -> Result<Vec<i64>, fleet::FleetError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| fleet::FleetError::Invalid(format!("{s:?} is not a project id")))
        })
        .collect()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn ids_are_read_from_a_comma_list_and_a_bad_one_is_named() {
        assert_eq!(super::parse_ids("3, 1,,7").expect("ids"), [3, 1, 7]);
        assert!(super::parse_ids("").expect("none").is_empty());
        let error = super::parse_ids("3,x").expect_err("bad");
        assert!(error.to_string().contains("\"x\""), "{error}");
    }
}
