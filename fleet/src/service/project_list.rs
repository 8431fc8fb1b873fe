//! The projects as every page, command and status check reads them: in the fleet's order
//! (name, case aside, then id) with an index by id, so finding one project costs the same
//! in a fleet of 10 as of 10,000. A poll round looks each project up once per check; with a
//! linear search that made the round grow with the square of the fleet.

use std::{collections::HashMap, ops::Deref};

use super::projects::Project;

#[derive(Debug, Default)]
pub(super) struct ProjectList {
    ordered: Vec<Project>,
    position: HashMap<i64, usize>,
}

impl ProjectList {
    /// The list of `projects`, put in order.
    pub(super) fn new(mut projects: Vec<Project>) -> Self {
        projects.sort_by_cached_key(Project::order_key);
        let mut list = ProjectList {
            ordered: projects,
            position: HashMap::new(),
        };
        list.index();
        list
    }

    pub(super) fn get(&self, id: i64) -> Option<&Project> {
        self.position.get(&id).map(|&at| &self.ordered[at])
    }

    pub(super) fn get_mut(&mut self, id: i64) -> Option<&mut Project> {
        self.position.get(&id).map(|&at| &mut self.ordered[at])
    }

    pub(super) fn contains(&self, id: i64) -> bool {
        self.position.contains_key(&id)
    }

    /// Puts project `id` where a fresh list would have it: `Some` adds or replaces it (a new
    /// name moves it), `None` removes it.
    pub(super) fn put(&mut self, id: i64, project: Option<Project>) {
        if let Some(at) = self.position.get(&id).copied() {
            self.ordered.remove(at);
        }
        if let Some(project) = project {
            let key = project.order_key();
            let at = self.ordered.partition_point(|p| p.order_key() < key);
            self.ordered.insert(at, project);
        }
        self.index();
    }

    fn index(&mut self) {
        self.position = self
            .ordered
            .iter()
            .enumerate()
            .map(|(at, p)| (p.id, at))
            .collect();
    }
}

/// Reads as the ordered slice.
impl Deref for ProjectList {
    type Target = [Project];

    fn deref(&self) -> &[Project] {
        &self.ordered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &ProjectList) -> Vec<(i64, &str)> {
        list.iter().map(|p| (p.id, p.name.as_str())).collect()
    }

    #[test]
    fn keeps_the_fleet_order_and_finds_each_project_by_id_through_changes() {
        let mut list = ProjectList::new(vec![
            Project::for_test(3, "charlie"),
            Project::for_test(1, "Bravo"),
            Project::for_test(2, "alpha"),
        ]);
        assert_eq!(names(&list), [(2, "alpha"), (1, "Bravo"), (3, "charlie")]);

        list.put(1, Some(Project::for_test(1, "delta"))); // renamed: moves
        list.put(4, Some(Project::for_test(4, "Alpha"))); // same name, later id
        list.put(2, None);
        assert_eq!(names(&list), [(4, "Alpha"), (3, "charlie"), (1, "delta")]);
        for (id, name) in [(4, "Alpha"), (3, "charlie"), (1, "delta")] {
            assert_eq!(list.get(id).map(|p| p.name.as_str()), Some(name));
        }
        assert!(list.get(2).is_none() && !list.contains(2));

        list.get_mut(3).expect("listed").upstream_project_id = Some("u-3".into());
        assert_eq!(
            list.get(3).and_then(|p| p.upstream_project_id.as_deref()),
            Some("u-3")
        );
    }
}
