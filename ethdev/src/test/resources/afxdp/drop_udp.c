/* Drops UDP/IPv4 to port 7777; sends every other frame to the AF_XDP socket of its queue. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct xdp_md { __u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *) 51;

struct {
    __uint(type, 17);                 /* BPF_MAP_TYPE_XSKMAP */
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int drop_udp_7777(struct xdp_md *ctx)
{
    __u8 *data = (__u8 *)(long) ctx->data, *end = (__u8 *)(long) ctx->data_end;
    if (data + 14 + 20 + 8 <= end && data[12] == 0x08 && data[13] == 0x00 && data[23] == 17) {
        __u8 *udp = data + 14 + (data[14] & 0x0f) * 4;
        if (udp + 8 <= end && udp[2] == (7777 >> 8) && udp[3] == (7777 & 0xff))
            return 1;                 /* XDP_DROP */
    }
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, 2 /* XDP_PASS */);
}

char _license[] SEC("license") = "GPL";
