//! Which Applications' health can never be grounded: with the Application
//! health Lua, an Application's health is the worst of its resources', so it
//! depends on every child Application it manages, except a child annotated
//! `ignore-healthcheck: "true"` and a direct self-reference
//! (`controller/health.go`). A cycle of such dependencies has no Healthy
//! start: each app waits on the other, both latch at Progressing once one is
//! not Healthy, and a sync that waits on either never ends (nothing fails,
//! so retries never fire). Built once per model, linear in its edges.

use std::collections::VecDeque;

use super::model::{is_application, Model};

pub struct Graph {
    /// Children whose health each Application (by index) takes.
    children: Vec<Vec<usize>>,
    /// Every cycle as a path of names back to its start, at a root when one is on it.
    pub cycles: Vec<Vec<String>>,
    /// For each Application, the cycle its health depends on, if any.
    ungrounded: Vec<Option<usize>>,
}

impl Graph {
    pub fn new(model: &Model) -> Graph {
        let count = model.applications.len();
        let mut children = vec![Vec::new(); count];
        if model.health_lua.is_some() {
            for (parent, app) in model.applications.iter().enumerate() {
                for managed in &app.managed {
                    let identity = &managed.object.identity;
                    if !is_application(identity) || managed.annotations.ignore_healthcheck || identity.name == app.name
                    {
                        continue;
                    }
                    if let (Some(child), Some(list)) = (model.position(&identity.name), children.get_mut(parent)) {
                        list.push(child);
                    }
                }
            }
        }
        let mut graph = Graph { children, cycles: Vec::new(), ungrounded: vec![None; count] };
        graph.find_cycles(model);
        graph
    }

    /// The Application at `index` and every one whose health it takes, transitively.
    pub fn subtree(&self, index: usize) -> Vec<usize> {
        let mut seen = vec![false; self.children.len()];
        let mut stack = vec![index];
        let mut out = Vec::new();
        while let Some(node) = stack.pop() {
            match seen.get_mut(node) {
                Some(flag) if !*flag => *flag = true,
                _ => continue,
            }
            out.push(node);
            stack.extend(self.children.get(node).into_iter().flatten().copied());
        }
        out
    }

    /// The cycle the health of the Application at `index` depends on.
    pub fn ungrounded(&self, index: usize) -> Option<&Vec<String>> {
        self.cycles.get((*self.ungrounded.get(index)?)?)
    }

    fn find_cycles(&mut self, model: &Model) {
        let count = self.children.len();
        // Strongly connected components with more than one member are the cycles (no self-edges exist).
        let components = components(&self.children);
        let roots: Vec<usize> = model.roots().iter().filter_map(|app| model.position(&app.name)).collect();
        let mut cycle_of = vec![None; count];
        for members in components.iter().filter(|members| members.len() > 1) {
            let start = members.iter().copied().find(|m| roots.contains(m)).or_else(|| members.iter().copied().min());
            let Some(start) = start else { continue };
            let Some(path) = self.path_back(start, members) else { continue };
            let names: Vec<String> = path
                .iter()
                .chain(path.first())
                .filter_map(|&i| model.applications.get(i).map(|app| app.name.clone()))
                .collect();
            for &member in members {
                if let Some(slot) = cycle_of.get_mut(member) {
                    *slot = Some(self.cycles.len());
                }
            }
            self.cycles.push(names);
        }
        // An Application reaching a cycle is ungrounded too: propagate to parents, breadth-first.
        let mut parents = vec![Vec::new(); count];
        for (parent, kids) in self.children.iter().enumerate() {
            for &kid in kids {
                if let Some(list) = parents.get_mut(kid) {
                    list.push(parent);
                }
            }
        }
        let mut queue: VecDeque<usize> = (0..count).filter(|&i| cycle_of.get(i).is_some_and(Option::is_some)).collect();
        self.ungrounded = cycle_of;
        while let Some(node) = queue.pop_front() {
            let cycle = self.ungrounded.get(node).copied().flatten();
            for &parent in parents.get(node).into_iter().flatten() {
                if let Some(slot) = self.ungrounded.get_mut(parent) {
                    if slot.is_none() {
                        *slot = cycle;
                        queue.push_back(parent);
                    }
                }
            }
        }
    }

    /// The shortest path from `start` back to itself inside `members`.
    fn path_back(&self, start: usize, members: &[usize]) -> Option<Vec<usize>> {
        let count = self.children.len();
        let mut previous: Vec<Option<usize>> = vec![None; count];
        let mut seen = vec![false; count];
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for &child in self.children.get(node).into_iter().flatten().filter(|c| members.contains(c)) {
                if child == start {
                    let mut path = vec![node];
                    let mut at = node;
                    while let Some(Some(before)) = previous.get(at) {
                        path.push(*before);
                        at = *before;
                    }
                    path.reverse();
                    return Some(path);
                }
                if let Some(flag) = seen.get_mut(child) {
                    if !*flag {
                        *flag = true;
                        if let Some(slot) = previous.get_mut(child) {
                            *slot = Some(node);
                        }
                        queue.push_back(child);
                    }
                }
            }
        }
        None
    }
}

/// Strongly connected components (Kosaraju, iterative), each a list of indexes.
fn components(children: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let count = children.len();
    let mut order = Vec::with_capacity(count);
    let mut seen = vec![false; count];
    for start in 0..count {
        if seen.get(start).copied().unwrap_or(true) {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        if let Some(flag) = seen.get_mut(start) {
            *flag = true;
        }
        while let Some((node, next)) = stack.pop() {
            match children.get(node).and_then(|kids| kids.get(next)) {
                Some(&kid) => {
                    stack.push((node, next + 1));
                    if let Some(flag) = seen.get_mut(kid) {
                        if !*flag {
                            *flag = true;
                            stack.push((kid, 0));
                        }
                    }
                }
                None => order.push(node),
            }
        }
    }
    let mut reverse = vec![Vec::new(); count];
    for (parent, kids) in children.iter().enumerate() {
        for &kid in kids {
            if let Some(list) = reverse.get_mut(kid) {
                list.push(parent);
            }
        }
    }
    let mut assigned = vec![false; count];
    let mut out = Vec::new();
    for &start in order.iter().rev() {
        if assigned.get(start).copied().unwrap_or(true) {
            continue;
        }
        let mut members = Vec::new();
        let mut stack = vec![start];
        if let Some(flag) = assigned.get_mut(start) {
            *flag = true;
        }
        while let Some(node) = stack.pop() {
            members.push(node);
            for &parent in reverse.get(node).into_iter().flatten() {
                if let Some(flag) = assigned.get_mut(parent) {
                    if !*flag {
                        *flag = true;
                        stack.push(parent);
                    }
                }
            }
        }
        members.sort_unstable();
        out.push(members);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::components;

    #[test]
    fn components_group_cycles_and_leave_the_rest_alone() {
        // 0 → 1 → 0 (a cycle), 1 → 2, 3 alone.
        let children = vec![vec![1], vec![0, 2], vec![], vec![]];
        let mut found = components(&children);
        found.sort();
        assert_eq!(found, vec![vec![0, 1], vec![2], vec![3]]);
    }
}
