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

/// The validator set: `ReplicaId` ↔ `PeerId`, and where to dial each.
#[derive(Debug)]
pub struct Roster {
    validators: Vec<Validator>,
    by_peer: HashMap<PeerId, ReplicaId>,
}

impl Roster {
    pub fn new(list: &[(crypto::PublicKey, String)]) -> Result<Self, NetError> {
        let mut validators = Vec::with_capacity(list.len());
        let mut by_peer = HashMap::with_capacity(list.len());
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
            by_peer.insert(peer_id, replica);
            validators.push(Validator { peer_id, addr });
        }
        Ok(Roster {
            validators,
            by_peer,
        })
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn get(&self, replica: ReplicaId) -> Option<&Validator> {
        self.validators.get(usize::try_from(replica.0).ok()?)
    }

    /// The replica behind a peer id; `None` for anyone who is not a validator.
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

    #[test]
    fn the_libp2p_identity_is_the_validator_key() {
        let key = crypto::SigningKey::from_seed([7; 32]);
        let from_secret = keypair(&key).public().to_peer_id();
        assert_eq!(Some(from_secret), peer_id(&key.public_key()));
    }

    #[test]
    fn a_bad_address_names_the_validator() {
        let key = crypto::SigningKey::from_seed([1; 32]).public_key();
        let err = Roster::new(&[
            (key, "/ip4/127.0.0.1/tcp/1".into()),
            (key, "nonsense".into()),
        ])
        .unwrap_err();
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
}
