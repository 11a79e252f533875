//! The battery's table: one row per case, the same on every run.

use crate::battery::Row;

/// A Markdown table: case, what was sent, what came back, alive after.
pub fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| case | sent | came back | alive after |\n| --- | --- | --- | --- |\n");
    for row in rows {
        let alive = match &row.alive {
            Ok(()) => "yes".to_string(),
            Err(why) => format!("no: {why}"),
        };
        let cells = [row.case, &row.sent, &row.came_back, &alive].map(|c| c.replace('|', "\\|"));
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The cases that went wrong, one line each: a dead module, or answers the
/// case does not allow.
pub fn failures(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        if let Err(why) = &row.verdict {
            out.push(format!("{}: {why}", row.case));
        }
        if let Err(why) = &row.alive {
            out.push(format!("{}: not alive after it: {why}", row.case));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(alive: Result<(), String>, verdict: Result<(), String>) -> Row {
        Row {
            case: "type 0xffff",
            sent: "a|b".into(),
            came_back: "NLMSG_ERROR EOPNOTSUPP".into(),
            alive,
            verdict,
        }
    }

    #[test]
    fn rows_render_and_pipes_are_escaped() {
        let t = table(&[row(Ok(()), Ok(())), row(Err("no answer".into()), Ok(()))]);
        assert_eq!(
            t,
            "| case | sent | came back | alive after |\n| --- | --- | --- | --- |\n\
             | type 0xffff | a\\|b | NLMSG_ERROR EOPNOTSUPP | yes |\n\
             | type 0xffff | a\\|b | NLMSG_ERROR EOPNOTSUPP | no: no answer |\n"
        );
    }

    #[test]
    fn failures_name_the_case() {
        assert!(failures(&[row(Ok(()), Ok(()))]).is_empty());
        assert_eq!(
            failures(&[row(Err("x".into()), Err("y".into()))]),
            vec!["type 0xffff: y", "type 0xffff: not alive after it: x"]
        );
    }
}
