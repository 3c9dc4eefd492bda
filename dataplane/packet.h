#pragma once
// The packet descriptor both backends hand to the shard. Under the socket backend it heads a
// buffer from the shard's pool; under DPDK it lives in the mbuf's private area, so a packet that
// moves to another shard's ring moves as this one pointer.

#include <cstdint>

#include "sip/endpoint.h"

namespace tandem::dataplane {

/// One datagram's payload (UDP payload: no L2/L3/L4 headers) and its addresses.
struct pkt_buf {
    /// First payload byte. Received packets: valid until the shard frees the packet after
    /// `on_packet` returns. Transmit buffers: `cap` writable bytes.
    uint8_t* data = nullptr;
    uint32_t len = 0;
    uint32_t cap = 0;
    /// Received: the sender. Transmit: the destination.
    sip::endpoint remote;
    /// Our address the packet arrived on (received) or leaves from (transmit).
    sip::endpoint local;
    /// Index into `sip.listen` of the socket/address it arrived on or leaves from.
    uint16_t listen_index = 0;
    /// The shard whose backend owns the storage; a packet handed to another shard comes back to
    /// this one to be freed.
    uint16_t origin_shard = 0;
    /// The backend's handle (the rte_mbuf under DPDK; null under the socket backend).
    void* io_ref = nullptr;
};

} // namespace tandem::dataplane
