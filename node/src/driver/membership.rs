//! The driver's side of membership changes (issue 7): after blocks commit (by
//! consensus or by a transfer) the ledger's governance history may have grown; the
//! shared membership is rebuilt from it, and the network's roster and dial set
//! follow it and the tip (a removed validator is dialled until its last epoch
//! ends). The replica itself learns the changes from `ExecOutcome::Valid` and
//! `Input::Transferred`.

use super::{Driver, DriverError};
use consensus::{MembershipChange, SeqNo};

impl Driver {
    /// Rebuilds the shared membership if the ledger's history grew, and gives the
    /// network the roster and the ids to dial when either changed.
    pub(super) fn follow_membership(&mut self) -> Result<(), DriverError> {
        let changed = self.shared.refresh_membership()?;
        let membership = self.shared.membership();
        let tip = self.shared.store.read().expect("store lock").tip().height;
        let dial = crate::membership::to_dial(&membership, tip);
        if changed.is_none() && dial == self.dialled {
            return Ok(());
        }
        let roster = {
            let store = self.shared.store.read().expect("store lock");
            crate::membership::net_roster(&membership, &store)
        };
        match self.net.set_roster(&roster, &dial) {
            Ok(()) => {
                tracing::info!(
                    roster = roster.len(),
                    dial = ?dial.iter().map(|id| id.0).collect::<Vec<_>>(),
                    height = tip,
                    "membership: network roster updated"
                );
                self.dialled = dial;
            }
            // The ledger's roster only grows, in order; the network refusing it
            // means a bug, not bad input: log it and keep the old roster.
            Err(e) => tracing::error!(error = %e, "membership: the network refused the roster"),
        }
        Ok(())
    }

    /// The changes the ledger holds above `from` (those a transfer applied).
    pub(super) fn changes_above(&self, from: u64) -> Vec<MembershipChange> {
        let store = self.shared.store.read().expect("store lock");
        let history = store.validator_history();
        let above: Vec<_> = history
            .iter()
            .filter(|(height, _)| *height > from)
            .cloned()
            .collect();
        crate::membership::changes(&above)
    }

    /// Logs what the replica recorded and switched to.
    pub(super) fn on_membership_events(
        &mut self,
        recorded: &[MembershipChange],
        epoch_started: Option<SeqNo>,
    ) {
        for change in recorded {
            tracing::info!(
                height = change.height.0,
                validators = change.validators.len(),
                "membership: change recorded by the replica"
            );
        }
        if let Some(first) = epoch_started {
            let epoch = self.replica.membership().at(first);
            tracing::info!(
                from = first.0,
                members = ?epoch.members.iter().map(|id| id.0).collect::<Vec<_>>(),
                quorum = epoch.q(),
                "membership: new epoch"
            );
        }
    }
}
