//! Every input of the fuzz corpora (`fuzz/corpus/TARGET/`) and every input a fuzzer
//! once crashed on (`fuzz/regressions/TARGET/`), run through the same checks as the
//! fuzz targets, within the same allocation budget, in `make test`.

// The fuzz targets' counting allocator, shared rather than copied.
#[path = "../../fuzz/src/budget.rs"]
mod budget;

use node::fuzz_checks::{seeds::seeds, target, TARGETS};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted; none if it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_passes_its_check() {
    let mut replayed = 0;
    for target in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(target.name));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{} has no input",
            target.name
        );
        let regressions = files(&fuzz_dir().join("regressions").join(target.name));
        for path in corpus.iter().chain(&regressions) {
            let input = std::fs::read(path).expect("a readable input");
            // Printed only if the test fails: the input that broke it.
            println!("{}", path.display());
            budget::within_budget(target.check, &input);
            replayed += 1;
        }
    }
    println!("replayed {replayed} inputs");
}

/// A folder of inputs for a target that does not exist would never be replayed.
#[test]
fn every_input_folder_names_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries {
            let name = entry.expect("a readable directory").file_name();
            let name = name.to_string_lossy();
            assert!(
                target(&name).is_some(),
                "fuzz/{kind}/{name} names no target"
            );
        }
    }
}

/// The committed seeds are what the seed generator makes today: a change to an
/// encoding that leaves them stale (no longer valid, so no longer a start past the
/// first checks) fails here; `make fuzz-seeds` writes them again.
#[test]
fn the_committed_seeds_are_current() {
    for (i, (name, bytes)) in seeds().into_iter().enumerate() {
        let path = fuzz_dir()
            .join("corpus")
            .join(name)
            .join(format!("seed-{i:02}"));
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} is not the seed the generator makes: run `make fuzz-seeds`",
            path.display()
        );
    }
}

/// Writes the seed corpus (`make fuzz-seeds`).
#[test]
#[ignore = "writes fuzz/corpus; run by make fuzz-seeds"]
fn write_seed_corpus() {
    for (i, (name, bytes)) in seeds().into_iter().enumerate() {
        let dir = fuzz_dir().join("corpus").join(name);
        std::fs::create_dir_all(&dir).expect("a writable fuzz/corpus");
        std::fs::write(dir.join(format!("seed-{i:02}")), bytes).expect("a writable fuzz/corpus");
    }
}

/// The budget is real: a check that holds more than it at once fails.
#[test]
#[should_panic(expected = "at once, over")]
fn a_check_over_the_budget_fails() {
    fn hoard(_: &[u8]) {
        let chunks: Vec<Vec<u8>> = (0..=budget::BUDGET_BYTES >> 20)
            .map(|_| vec![1u8; 1 << 20])
            .collect();
        assert_eq!(chunks.len(), (budget::BUDGET_BYTES >> 20) + 1);
    }
    budget::within_budget(hoard, b"");
}
