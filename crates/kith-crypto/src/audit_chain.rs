//! Hashes of the audit log. Leaves are hashed as RFC 6962 leaves
//! (`SHA-256(0x00 || event)`), so Merkle inclusion and consistency proofs
//! can be built over them later; the chain links each leaf to everything
//! before it (`SHA-256(0x02 || previous chain hash || leaf hash)`), so an
//! edit, deletion, insertion or reordering breaks every hash after it.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The chain hash before the first event.
pub const GENESIS: Hash = [0u8; 32];

pub fn leaf_hash(canonical_event: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(canonical_event);
    h.finalize().into()
}

pub fn chain_hash(previous: &Hash, leaf: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x02]);
    h.update(previous);
    h.update(leaf);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The RFC 6962 Merkle tree hash of a list of leaf hashes.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            // The largest power of two strictly below n.
            let k = 1 << (usize::BITS - (n - 1).leading_zeros() - 1);
            node_hash(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6962_shapes() {
        let leaves: Vec<Hash> = (0u8..5).map(|i| leaf_hash(&[i])).collect();
        assert_eq!(merkle_root(&leaves[..1]), leaves[0]);
        assert_eq!(merkle_root(&leaves[..2]), node_hash(&leaves[0], &leaves[1]));
        let left = node_hash(&node_hash(&leaves[0], &leaves[1]), &node_hash(&leaves[2], &leaves[3]));
        assert_eq!(merkle_root(&leaves), node_hash(&left, &leaves[4]));
        // The empty tree is the hash of the empty string.
        assert_eq!(hex(&merkle_root(&[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn the_chain_depends_on_order() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let ab = chain_hash(&chain_hash(&GENESIS, &a), &b);
        let ba = chain_hash(&chain_hash(&GENESIS, &b), &a);
        assert_ne!(ab, ba);
    }

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }
}
