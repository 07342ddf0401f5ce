//! libp2p between validators (DESIGN.md section 8). Built in its own change.
