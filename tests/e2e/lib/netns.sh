# Test hosts in network namespaces, for the DPDK tests. Source it, then call
# `veth_pair NS_A NS_B VETH_A VETH_B WORKDIR`: two namespaces joined by a veth pair, the second
# end at 198.18.0.1/24 (the benchmarking range, nothing else on the machine uses it), offloads
# off on both ends (otherwise the peer kernel leaves UDP checksums to an offload veth never
# performs, and af_packet sees datagrams bigger than the MTU instead of IP fragments). Exits 77
# with the reason where the machine does not allow it. The caller removes the namespaces.
veth_pair() {
    local ns_a=$1 ns_b=$2 veth_a=$3 veth_b=$4 work=$5
    command -v ethtool >/dev/null || { echo "SKIP: ethtool is needed to switch veth offloads off"; exit 77; }
    ip netns add "$ns_a" 2>"$work/err" ||
        { echo "SKIP: cannot create network namespaces: $(cat "$work/err")"; exit 77; }
    ip netns add "$ns_b" || { echo "SKIP: cannot create a second network namespace"; exit 77; }
    ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b" 2>"$work/err" ||
        { echo "SKIP: cannot create a veth pair: $(cat "$work/err")"; exit 77; }
    ip -n "$ns_a" link set "$veth_a" mtu 1500 up
    ip -n "$ns_a" link set lo up
    ip -n "$ns_b" addr add 198.18.0.1/24 dev "$veth_b"
    ip -n "$ns_b" link set "$veth_b" mtu 1500 up
    ip -n "$ns_b" link set lo up
    ip netns exec "$ns_b" ethtool -K "$veth_b" tx off sg off tso off gso off >/dev/null 2>&1
    ip netns exec "$ns_a" ethtool -K "$veth_a" rx off tx off sg off tso off gso off gro off \
        >/dev/null 2>&1
}
