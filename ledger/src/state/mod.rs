//! Account state: the committed [`State`], the [`StateDelta`] a block produces, and
//! the [`StateView`] that execution reads (committed state plus speculative deltas).

#[cfg(feature = "memo")]
pub mod hash_memo;
pub mod tree;

use crate::account::{Account, Address};
use crate::genesis::ValidatorInfo;
use crypto::{Hash, PublicKey};
use std::collections::{BTreeMap, HashMap};
use tree::{Bucket, Tree, TreeSource, TreeUpdate};

/// A change to the validator set made by a committed governance transaction. It is
/// recorded here; the membership protocol decides when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatorChange {
    Add(ValidatorInfo),
    Remove(PublicKey),
}

impl ValidatorChange {
    /// The validator set after `changes`, in order.
    pub fn apply_all(
        validators: &[ValidatorInfo],
        changes: &[ValidatorChange],
    ) -> Vec<ValidatorInfo> {
        let mut out = validators.to_vec();
        for change in changes {
            match change {
                ValidatorChange::Add(v) => out.push(v.clone()),
                ValidatorChange::Remove(key) => out.retain(|v| v.public_key != *key),
            }
        }
        out
    }
}

/// Every account and the state tree over them.
#[derive(Default)]
pub struct State {
    accounts: HashMap<Address, Account>,
    tree: Tree,
}

impl State {
    /// A state holding exactly `accounts` (genesis, or a store being reopened).
    pub fn from_accounts(accounts: impl IntoIterator<Item = (Address, Account)>) -> State {
        let accounts: BTreeMap<Address, Account> = accounts.into_iter().collect();
        let mut state = State::default();
        let delta = StateDelta::compute(&state.view(), accounts, Vec::new());
        state.apply(delta);
        state
    }

    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    pub fn account(&self, address: &Address) -> Option<Account> {
        self.accounts.get(address).copied()
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    /// A view of this state with no speculative blocks on top.
    pub fn view(&self) -> StateView<'_> {
        StateView {
            base: self,
            layers: Vec::new(),
        }
    }

    /// Applies a delta computed on exactly this state.
    pub fn apply(&mut self, delta: StateDelta) {
        assert_eq!(
            delta.parent_root,
            self.root(),
            "a state delta applies only to the state it was computed on"
        );
        self.accounts.extend(delta.accounts);
        self.tree.apply(delta.tree);
    }
}

/// What one block does to the state: the new values of the accounts it touched,
/// the new tree nodes, and the roots before and after.
#[derive(Debug, Clone)]
pub struct StateDelta {
    pub parent_root: Hash,
    pub state_root: Hash,
    pub accounts: BTreeMap<Address, Account>,
    pub validator_changes: Vec<ValidatorChange>,
    tree: TreeUpdate,
}

impl StateDelta {
    /// The delta that sets `accounts` on top of `view`.
    pub fn compute(
        view: &StateView,
        accounts: BTreeMap<Address, Account>,
        validator_changes: Vec<ValidatorChange>,
    ) -> StateDelta {
        let (state_root, tree) = tree::update(view, &accounts);
        StateDelta {
            parent_root: view.root(),
            state_root,
            accounts,
            validator_changes,
            tree,
        }
    }

    /// Extends this delta with `later`, a delta computed on the state this one leads
    /// to: the result takes the state from `self.parent_root` to `later.state_root`
    /// in one step. Several consecutive blocks executed this way are committed in
    /// one write, and each is executed on a view with a single layer (a view with a
    /// layer per block would search every layer on each read).
    pub fn absorb(&mut self, later: StateDelta) {
        assert_eq!(
            later.parent_root, self.state_root,
            "a delta absorbs only the delta computed on the state it leads to"
        );
        self.state_root = later.state_root;
        self.accounts.extend(later.accounts);
        self.validator_changes.extend(later.validator_changes);
        self.tree.buckets.extend(later.tree.buckets);
        self.tree.nodes.extend(later.tree.nodes);
    }
}

/// The state execution reads: committed state with zero or more speculative deltas
/// on top, newest last.
pub struct StateView<'a> {
    base: &'a State,
    layers: Vec<&'a StateDelta>,
}

impl<'a> StateView<'a> {
    /// Adds a speculative delta computed on top of this view.
    pub fn with_layer(mut self, delta: &'a StateDelta) -> Self {
        assert_eq!(
            delta.parent_root,
            self.root(),
            "a speculative delta must be computed on the view it is stacked on"
        );
        self.layers.push(delta);
        self
    }

    pub fn root(&self) -> Hash {
        self.layers
            .last()
            .map_or(self.base.root(), |delta| delta.state_root)
    }

    pub fn account(&self, address: &Address) -> Option<Account> {
        self.layers
            .iter()
            .rev()
            .find_map(|delta| delta.accounts.get(address).copied())
            .or_else(|| self.base.account(address))
    }
}

impl TreeSource for StateView<'_> {
    fn bucket(&self, b: usize) -> &Bucket {
        self.layers
            .iter()
            .rev()
            .find_map(|delta| delta.tree.buckets.get(&(b as u32)))
            .unwrap_or_else(|| self.base.tree.bucket(b))
    }

    fn node(&self, i: usize) -> Hash {
        self.layers
            .iter()
            .rev()
            .find_map(|delta| delta.tree.nodes.get(&(i as u32)).copied())
            .unwrap_or_else(|| self.base.tree.node(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(balance: u64) -> Account {
        Account { balance, nonce: 0 }
    }

    #[test]
    fn speculative_layers_equal_applying_in_order() {
        let base = State::from_accounts((0..20u8).map(|i| (Address([i; 20]), acc(i as u64))));
        let d1 = StateDelta::compute(
            &base.view(),
            BTreeMap::from([(Address([1; 20]), acc(100)), (Address([99; 20]), acc(1))]),
            vec![],
        );
        let view1 = base.view().with_layer(&d1);
        assert_eq!(view1.account(&Address([1; 20])), Some(acc(100)));
        assert_eq!(view1.account(&Address([2; 20])), Some(acc(2)));
        let d2 = StateDelta::compute(
            &view1,
            BTreeMap::from([(Address([1; 20]), acc(7)), (Address([150; 20]), acc(3))]),
            vec![],
        );
        let spec_root = d2.state_root;

        let mut committed =
            State::from_accounts((0..20u8).map(|i| (Address([i; 20]), acc(i as u64))));
        committed.apply(d1.clone());
        committed.apply(d2);
        assert_eq!(committed.root(), spec_root);
        assert_eq!(committed.account(&Address([1; 20])), Some(acc(7)));

        // And from scratch: the root depends only on the final accounts.
        let fresh = State::from_accounts(
            committed
                .accounts()
                .map(|(a, b)| (*a, *b))
                .collect::<Vec<_>>(),
        );
        assert_eq!(fresh.root(), spec_root);
    }

    #[test]
    fn an_absorbed_delta_equals_applying_both_in_order() {
        let accounts = || (0..20u8).map(|i| (Address([i; 20]), acc(i as u64)));
        let base = State::from_accounts(accounts());
        let d1 = StateDelta::compute(
            &base.view(),
            BTreeMap::from([(Address([1; 20]), acc(100)), (Address([99; 20]), acc(1))]),
            vec![],
        );
        let d2 = StateDelta::compute(
            &base.view().with_layer(&d1),
            BTreeMap::from([(Address([1; 20]), acc(7)), (Address([150; 20]), acc(3))]),
            vec![],
        );
        let mut both = State::from_accounts(accounts());
        both.apply(d1.clone());
        both.apply(d2.clone());

        let mut merged = d1;
        merged.absorb(d2);
        assert_eq!(merged.parent_root, base.root());
        assert_eq!(merged.state_root, both.root());
        let view = base.view().with_layer(&merged);
        assert_eq!(view.root(), both.root());
        for address in [[1; 20], [2; 20], [99; 20], [150; 20]].map(Address) {
            assert_eq!(view.account(&address), both.account(&address));
        }
        let mut once = State::from_accounts(accounts());
        once.apply(merged);
        assert_eq!(once.root(), both.root());
        assert_eq!(once.account_count(), both.account_count());
    }

    #[test]
    #[should_panic(expected = "absorbs only the delta computed on the state it leads to")]
    fn a_delta_from_elsewhere_is_not_absorbed() {
        let base = State::from_accounts([(Address([1; 20]), acc(1))]);
        let mut d1 = StateDelta::compute(
            &base.view(),
            BTreeMap::from([(Address([2; 20]), acc(2))]),
            vec![],
        );
        let d2 = StateDelta::compute(
            &base.view(),
            BTreeMap::from([(Address([3; 20]), acc(3))]),
            vec![],
        );
        d1.absorb(d2);
    }

    #[test]
    #[should_panic(expected = "only to the state it was computed on")]
    fn delta_for_another_state_is_refused() {
        let a = State::from_accounts([(Address([1; 20]), acc(1))]);
        let mut b = State::from_accounts([(Address([2; 20]), acc(1))]);
        let d = StateDelta::compute(&a.view(), BTreeMap::new(), vec![]);
        b.apply(d);
    }
}
