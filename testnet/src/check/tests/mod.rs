//! The checker's checks on made-up observations: a network that holds passes,
//! and each way of breaking it gives its precise problem.

mod certificates;
mod consistency;
mod fixture;
mod membership;
mod supply;
mod txs;
mod unreadable;
