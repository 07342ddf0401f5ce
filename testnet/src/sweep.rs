//! `testnet sweep`: every simulator suite over one range of seeds, with progress as it
//! goes and, at the end, each suite's figures and every failing seed with the command
//! that replays it.
//!
//! The suites are those of `testnet sim`: `plain`, `byzantine`, `crash-primary`, one
//! per recovery scenario (`scenario:partitioned`, ...) and `membership`. A sweep is
//! meant for seeds nobody has run: the CI suites use low seed numbers, so start far
//! from them (`make sim-sweep` starts at 1,000,000).

use crate::sim::{run_seeds, Scenario, SeedReport, SimOptions};
use std::time::{Duration, Instant};

/// One suite: a name and the simulator options it runs with.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub options: SimOptions,
}

/// Every suite, in the order a sweep runs them.
pub fn all_suites() -> Vec<Suite> {
    let mut suites = vec![
        Suite {
            name: "plain".into(),
            options: SimOptions::default(),
        },
        Suite {
            name: "byzantine".into(),
            options: SimOptions {
                byzantine: true,
                ..SimOptions::default()
            },
        },
        Suite {
            name: "crash-primary".into(),
            options: SimOptions {
                crash_primary: true,
                ..SimOptions::default()
            },
        },
    ];
    for scenario in Scenario::ALL {
        suites.push(Suite {
            name: format!("scenario:{}", scenario.name()),
            options: SimOptions {
                scenario: Some(scenario),
                ..SimOptions::default()
            },
        });
    }
    suites.push(Suite {
        name: "membership".into(),
        options: SimOptions {
            membership: true,
            ..SimOptions::default()
        },
    });
    suites
}

/// The suites named in `names` (comma-separated; `all` for every one), in the order
/// [`all_suites`] lists them.
pub fn parse_suites(names: &str) -> Result<Vec<Suite>, String> {
    let all = all_suites();
    let wanted: Vec<&str> = names.split(',').map(str::trim).collect();
    if wanted.contains(&"all") {
        return Ok(all);
    }
    for name in &wanted {
        if !all.iter().any(|s| s.name == *name) {
            let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "no suite named {name:?}; the suites are all, {}",
                known.join(", ")
            ));
        }
    }
    Ok(all
        .into_iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
        .collect())
}

/// What one suite of a sweep found.
#[derive(Debug, Clone)]
pub struct SuiteResult {
    pub name: String,
    pub first: u64,
    pub seeds: u64,
    pub elapsed: Duration,
    /// The failing seeds, in seed order, each with its violations.
    pub failing: Vec<SeedReport>,
    /// Every failing seed's replay command, in the same order.
    pub replays: Vec<String>,
    pub ed25519_seeds: usize,
}

impl SuiteResult {
    pub fn seeds_per_second(&self) -> f64 {
        self.seeds as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How far a suite has got, for a progress line.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub suite: &'a str,
    pub done: u64,
    pub seeds: u64,
    pub failing: usize,
    pub elapsed: Duration,
}

/// Seeds run between two progress reports, per thread.
const CHUNK_PER_THREAD: u64 = 100;

/// Runs `seeds` seeds from `first` of every suite in `suites` on `threads` threads,
/// calling `progress` after each chunk of seeds.
pub fn sweep(
    first: u64,
    seeds: u64,
    threads: usize,
    suites: &[Suite],
    mut progress: impl FnMut(&Progress),
) -> Vec<SuiteResult> {
    let chunk = CHUNK_PER_THREAD * threads.max(1) as u64;
    let mut results = Vec::with_capacity(suites.len());
    for suite in suites {
        let started = Instant::now();
        let mut failing = Vec::new();
        let mut ed25519_seeds = 0;
        let mut done = 0;
        while done < seeds {
            let count = chunk.min(seeds - done);
            for report in run_seeds(first + done, count, threads, &suite.options) {
                ed25519_seeds += usize::from(report.ed25519);
                if !report.violations.is_empty() {
                    failing.push(report);
                }
            }
            done += count;
            progress(&Progress {
                suite: &suite.name,
                done,
                seeds,
                failing: failing.len(),
                elapsed: started.elapsed(),
            });
        }
        let replays = failing
            .iter()
            .map(|r| suite.options.replay_command(r.seed))
            .collect();
        results.push(SuiteResult {
            name: suite.name.clone(),
            first,
            seeds,
            elapsed: started.elapsed(),
            failing,
            replays,
            ed25519_seeds,
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_are_chosen_by_name_and_unknown_names_are_refused() {
        // plain, byzantine, crash-primary, one per scenario, membership.
        let every = 3 + Scenario::ALL.len() + 1;
        assert_eq!(all_suites().len(), every);
        assert_eq!(parse_suites("all").unwrap().len(), every);
        let two = parse_suites("byzantine, plain").unwrap();
        let names: Vec<&str> = two.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["plain", "byzantine"]);
        assert!(two[1].options.byzantine);
        let wiped = parse_suites("scenario:wiped").unwrap();
        assert_eq!(wiped[0].options.scenario, Some(Scenario::Wiped));
        let error = parse_suites("plain,byzantin").unwrap_err();
        assert!(error.contains("\"byzantin\""), "{error}");
    }

    #[test]
    fn replay_commands_name_every_option_of_the_suite() {
        let suites = all_suites();
        let replay = |name: &str| {
            let suite = suites.iter().find(|s| s.name == name).unwrap();
            suite.options.replay_command(77)
        };
        assert_eq!(
            replay("plain"),
            "cargo run --release -p testnet -- sim --seeds 1 --seed 77 --nodes 4"
        );
        assert!(replay("byzantine").ends_with("--seed 77 --byzantine --nodes 4"));
        assert!(replay("crash-primary").contains(" --crash-primary"));
        assert!(replay("scenario:lying-peer").contains(" --scenario lying-peer"));
        let membership = replay("membership");
        assert!(membership.contains(" --membership") && !membership.contains("--nodes"));
        let real = SimOptions {
            ed25519_every: 1,
            ..SimOptions::default()
        };
        assert!(real.replay_command(3).ends_with(" --ed25519-every 1"));
    }
}
