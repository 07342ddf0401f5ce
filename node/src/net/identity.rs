//! Who is who: the validator's ed25519 key is its libp2p identity (DESIGN.md section 2),
//! so the peer id that Noise authenticates maps to exactly one `ReplicaId`.

use super::NetError;
use consensus::ReplicaId;
use libp2p::{identity, Multiaddr, PeerId};
use std::collections::HashMap;

/// The libp2p key pair of a validator: the same ed25519 key, seen by libp2p.
pub fn keypair(key: &crypto::SigningKey) -> identity::Keypair {
    // `ed25519_from_bytes` zeroizes the buffer it is given; it is a copy.
    let mut seed = key.seed();
    identity::Keypair::ed25519_from_bytes(&mut seed)
        .expect("32 bytes are always a valid ed25519 secret key")
}

/// The peer id of a validator's public key.
pub fn peer_id(key: &crypto::PublicKey) -> Option<PeerId> {
    let public = identity::ed25519::PublicKey::try_from_bytes(&key.to_bytes()).ok()?;
    Some(identity::PublicKey::from(public).to_peer_id())
}

/// One validator as the network sees it.
#[derive(Debug, Clone)]
pub struct Validator {
    pub peer_id: PeerId,
    pub addr: Multiaddr,
}

/// The roster (issue 7): every key ever admitted, `ReplicaId` = position, and where to
/// dial each. It only grows: ids are stable forever, and a key keeps its id when it
/// is removed (its address may change when it is added again).
#[derive(Debug, Default)]
pub struct Roster {
    validators: Vec<Validator>,
    by_peer: HashMap<PeerId, ReplicaId>,
}

impl Roster {
    pub fn new(list: &[(crypto::PublicKey, String)]) -> Result<Self, NetError> {
        let mut roster = Roster::default();
        roster.extend(list)?;
        Ok(roster)
    }

    /// Takes `list`, which must begin with the keys already here in the same order,
    /// and appends the rest; an address that changed is updated. Returns the ids
    /// appended. On `Err` nothing changed.
    pub fn extend(
        &mut self,
        list: &[(crypto::PublicKey, String)],
    ) -> Result<Vec<ReplicaId>, NetError> {
        let mut parsed = Vec::with_capacity(list.len());
        for (index, (key, addr)) in list.iter().enumerate() {
            let replica = ReplicaId(
                u32::try_from(index).map_err(|_| NetError::BadLimits("too many validators"))?,
            );
            let peer_id = peer_id(key).ok_or(NetError::BadPeerKey { peer: replica })?;
            let addr: Multiaddr =
                addr.parse()
                    .map_err(|e: libp2p::multiaddr::Error| NetError::BadPeerAddr {
                        peer: replica,
                        addr: addr.clone(),
                        reason: e.to_string(),
                    })?;
            let known = self.validators.get(index).map(|v| v.peer_id);
            let elsewhere = self.by_peer.get(&peer_id).is_some_and(|id| *id != replica);
            if known.is_some_and(|known| known != peer_id) || elsewhere {
                return Err(NetError::RosterReordered { peer: replica });
            }
            parsed.push(Validator { peer_id, addr });
        }
        if parsed.len() < self.validators.len() {
            return Err(NetError::RosterShrunk {
                had: self.validators.len(),
                got: parsed.len(),
            });
        }
        let mut by_peer = HashMap::with_capacity(parsed.len());
        for (index, validator) in parsed.iter().enumerate() {
            if by_peer
                .insert(validator.peer_id, ReplicaId(index as u32))
                .is_some()
            {
                return Err(NetError::RosterReordered {
                    peer: ReplicaId(index as u32),
                });
            }
        }
        let added = (self.validators.len()..parsed.len())
            .map(|i| ReplicaId(i as u32))
            .collect();
        self.validators = parsed;
        self.by_peer = by_peer;
        Ok(added)
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn get(&self, replica: ReplicaId) -> Option<&Validator> {
        self.validators.get(usize::try_from(replica.0).ok()?)
    }

    /// The replica behind a peer id; `None` for anyone not on the roster.
    pub fn replica(&self, peer: &PeerId) -> Option<ReplicaId> {
        self.by_peer.get(peer).copied()
    }

    pub fn ids(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        (0..self.validators.len()).map(|i| ReplicaId(i as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> crypto::PublicKey {
        crypto::SigningKey::from_seed([seed; 32]).public_key()
    }

    fn addr(port: u16) -> String {
        format!("/ip4/127.0.0.1/tcp/{port}")
    }

    #[test]
    fn the_libp2p_identity_is_the_validator_key() {
        let key = crypto::SigningKey::from_seed([7; 32]);
        let from_secret = keypair(&key).public().to_peer_id();
        assert_eq!(Some(from_secret), peer_id(&key.public_key()));
    }

    #[test]
    fn a_bad_address_names_the_validator() {
        let err = Roster::new(&[(key(1), addr(1)), (key(2), "nonsense".into())]).unwrap_err();
        assert!(
            matches!(
                err,
                NetError::BadPeerAddr {
                    peer: ReplicaId(1),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn the_roster_grows_at_the_end_and_never_renumbers() {
        let mut roster = Roster::new(&[(key(1), addr(1)), (key(2), addr(2))]).unwrap();
        let added = roster
            .extend(&[(key(1), addr(1)), (key(2), addr(22)), (key(3), addr(3))])
            .unwrap();
        assert_eq!(added, vec![ReplicaId(2)]);
        assert_eq!(roster.len(), 3);
        assert_eq!(
            roster.get(ReplicaId(1)).unwrap().addr,
            addr(22).parse().unwrap()
        );
        assert_eq!(
            roster.replica(&peer_id(&key(3)).unwrap()),
            Some(ReplicaId(2))
        );

        // Reordered, shrunk or duplicated lists are refused and change nothing.
        let reordered = roster.extend(&[(key(2), addr(2)), (key(1), addr(1)), (key(3), addr(3))]);
        assert!(matches!(reordered, Err(NetError::RosterReordered { .. })));
        let shrunk = roster.extend(&[(key(1), addr(1))]);
        assert!(matches!(
            shrunk,
            Err(NetError::RosterShrunk { had: 3, got: 1 })
        ));
        let twice = roster.extend(&[
            (key(1), addr(1)),
            (key(2), addr(2)),
            (key(3), addr(3)),
            (key(1), addr(4)),
        ]);
        assert!(matches!(twice, Err(NetError::RosterReordered { .. })));
        assert_eq!(roster.len(), 3);
        assert_eq!(
            roster.replica(&peer_id(&key(1)).unwrap()),
            Some(ReplicaId(0))
        );
    }
}
