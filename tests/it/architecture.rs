//! The table-ownership rule of docs/architecture.md, checked against the code: the document's
//! tables are read here, so the document and the code cannot drift apart silently.
//!
//! - Every table the migrations create is owned by exactly one module in the document.
//! - Only the owning module writes a table (INSERT, UPDATE, DELETE, COPY, diesel's
//!   insert_into/update/delete).
//! - Another module's file mentions a table only where the document lists that file and that
//!   table as a read-only join.
//! - Route handlers hold no SQL: no file of routes queries a table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

const DOC: &str = "docs/architecture.md";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The rows of the markdown table that follows `heading` (cells with backticks stripped).
fn doc_table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("{DOC} has no section \"{heading}\""));
    doc[start..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("|---") && !l.starts_with("| ---"))
        .skip(1) // the header row
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.replace('`', "").trim().to_string())
                .collect()
        })
        .collect()
}

fn names(cell: &str) -> Vec<String> {
    cell.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

struct Rules {
    owner: BTreeMap<String, String>,
    joins: BTreeMap<String, BTreeSet<String>>,
}

fn rules() -> Rules {
    let doc = read(&root().join(DOC));
    let mut owner = BTreeMap::new();
    for row in doc_table(&doc, "## Who owns which tables") {
        let module = row[0].clone();
        for t in names(&row[1]) {
            if let Some(other) = owner.insert(t.clone(), module.clone()) {
                panic!("{DOC}: table {t} is listed under both {other} and {module}");
            }
        }
    }
    let mut joins: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in doc_table(&doc, "## Read-only joins across modules") {
        joins
            .entry(row[0].clone())
            .or_default()
            .extend(names(&row[1]));
    }
    Rules { owner, joins }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code a file runs in production: its unit tests (a trailing `#[cfg(test)]` module or a
/// `tests.rs`) set up fixtures however they like.
fn production_code(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name == "tests.rs" || name == "testkit.rs" {
        return None;
    }
    let text = read(path);
    Some(match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    })
}

/// `src/analytics/queries.rs` → ("analytics", "src/analytics/queries.rs").
fn module_of(rel: &str) -> String {
    let rest = rel.trim_start_matches("src/");
    match rest.split_once('/') {
        Some((m, _)) => m.to_string(),
        None => rest.trim_end_matches(".rs").to_string(),
    }
}

struct Mention {
    file: String,
    table: String,
    write: bool,
}

fn mentions(rules: &Rules) -> Vec<Mention> {
    let sql_write =
        Regex::new(r"\b(?:INSERT INTO|UPDATE|DELETE FROM|COPY)\s+([a-z_]+)\b").expect("regex");
    let sql_read = Regex::new(r"\b(?:FROM|JOIN)\s+([a-z_]+)\b").expect("regex");
    let dsl_write =
        Regex::new(r"\b(?:insert_into|update|delete)\(\s*(?:[a-z_]+::)*([a-z_]+)::table")
            .expect("regex");
    let dsl_any = Regex::new(r"\b([a-z_]+)::(?:table|dsl)\b").expect("regex");
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut out = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(root())
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        // The sandbox is a fake ad platform with its own in-memory world; db/schema.rs only
        // declares the tables.
        if rel.starts_with("src/sandbox/") || rel == "src/db/schema.rs" {
            continue;
        }
        let Some(code) = production_code(&path) else {
            continue;
        };
        let mut add = |re: &Regex, write: bool| {
            for c in re.captures_iter(&code) {
                let t = c[1].to_string();
                if rules.owner.contains_key(&t) {
                    out.push(Mention {
                        file: rel.clone(),
                        table: t,
                        write,
                    });
                }
            }
        };
        add(&sql_write, true);
        add(&dsl_write, true);
        add(&sql_read, false);
        add(&dsl_any, false);
    }
    out
}

#[test]
fn every_table_the_migrations_create_has_one_owner_in_the_document() {
    let rules = rules();
    let create =
        Regex::new(r"(?i)CREATE TABLE (?:IF NOT EXISTS )?([a-z_0-9]+)([^;]*)").expect("regex");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("migrations"))
        .expect("migrations")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut missing = Vec::new();
    for d in dirs {
        let up = d.join("up.sql");
        if !up.exists() {
            continue;
        }
        for c in create.captures_iter(&read(&up)) {
            let (table, rest) = (&c[1], &c[2]);
            // Partitions belong to their parent table.
            if rest.to_uppercase().contains("PARTITION OF") {
                continue;
            }
            if !rules.owner.contains_key(table) {
                missing.push(format!("{table} ({})", d.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tables without an owner in {DOC} (add them to \"Who owns which tables\"): {missing:#?}"
    );
}

#[test]
fn only_the_owning_module_writes_a_table() {
    let rules = rules();
    let bad: Vec<String> = mentions(&rules)
        .into_iter()
        .filter(|m| m.write && rules.owner[&m.table] != module_of(&m.file))
        .map(|m| {
            format!(
                "{} writes {} (owned by {})",
                m.file, m.table, rules.owner[&m.table]
            )
        })
        .collect();
    assert!(bad.is_empty(), "writes outside the owner: {bad:#?}");
}

#[test]
fn other_modules_read_a_table_only_where_the_document_allows_a_join() {
    let rules = rules();
    let mut bad = BTreeSet::new();
    for m in mentions(&rules) {
        let owner = &rules.owner[&m.table];
        if *owner == module_of(&m.file) {
            continue;
        }
        let allowed = rules
            .joins
            .get(&m.file)
            .is_some_and(|ts| ts.contains(&m.table));
        if !allowed {
            bad.insert(format!(
                "{} reads {} (owned by {owner}): call {owner}'s query functions, or list the join in {DOC}",
                m.file, m.table
            ));
        }
    }
    assert!(bad.is_empty(), "reads across modules: {bad:#?}");
}

#[test]
fn every_join_the_document_allows_is_still_made() {
    // A stale allowance would let a future read in without a look.
    let rules = rules();
    let made: BTreeSet<(String, String)> = mentions(&rules)
        .into_iter()
        .map(|m| (m.file, m.table))
        .collect();
    let mut stale = Vec::new();
    for (file, tables) in &rules.joins {
        for t in tables {
            if !made.contains(&(file.clone(), t.clone())) {
                stale.push(format!("{file}: {t}"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{DOC} allows joins that the code no longer makes (remove them): {stale:#?}"
    );
}

#[test]
fn route_handlers_hold_no_sql() {
    let rules = rules();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut bad = BTreeSet::new();
    for m in mentions(&rules) {
        let name = m.file.rsplit('/').next().unwrap_or_default();
        if name == "routes.rs" || name.ends_with("_routes.rs") || m.file == "src/router.rs" {
            bad.insert(format!("{} queries {}", m.file, m.table));
        }
    }
    for path in files {
        let rel = path
            .strip_prefix(root())
            .expect("root")
            .to_string_lossy()
            .to_string();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if (name == "routes.rs" || name.ends_with("_routes.rs"))
            && production_code(&path).is_some_and(|c| c.contains("sql_query("))
        {
            bad.insert(format!("{rel} runs sql_query"));
        }
    }
    assert!(
        bad.is_empty(),
        "SQL in route handlers (move it into the module's service functions): {bad:#?}"
    );
}
