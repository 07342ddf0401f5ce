//! Arguments several commands share: the transfer to sign (`tx send`, `tx sign`)
//! and waiting for a submitted transaction (`tx send`, `tx submit`, `validator`).

use clap::Args;
use ledger::Address;
use std::path::PathBuf;
use std::time::Duration;

/// `--to ADDR --amount N --key FILE`.
#[derive(Args, Debug, Clone)]
pub struct TransferArgs {
    /// The receiving address (40 hex characters).
    #[arg(long, value_name = "ADDR")]
    pub to: Address,
    /// The amount to move, a positive whole number.
    #[arg(long, value_name = "N", value_parser = parse_amount, allow_hyphen_values = true)]
    pub amount: u64,
    /// The sender's key file (written by `rbft keygen`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

/// `--wait [--timeout SECS]`.
#[derive(Args, Debug, Clone, Copy)]
pub struct WaitArgs {
    /// Wait until the transaction is committed (or dropped, or the timeout).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

impl WaitArgs {
    /// How long to wait, if asked to.
    pub fn for_how_long(&self) -> Option<Duration> {
        self.wait.then(|| Duration::from_secs(self.timeout))
    }
}

pub(super) fn parse_amount(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("the amount must be positive".into()),
        Ok(amount) => Ok(amount),
        Err(_) => Err(format!(
            "not an amount: expected a whole number from 1 to {}",
            u64::MAX
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_positive_whole_numbers() {
        assert_eq!(parse_amount("5"), Ok(5));
        assert!(parse_amount("0").unwrap_err().contains("positive"));
        assert!(parse_amount("-3").is_err());
        assert!(parse_amount("1.5").is_err());
        assert!(parse_amount("18446744073709551616").is_err());
    }
}
