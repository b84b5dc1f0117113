package org.jpdk.virtio;

import java.util.StringJoiner;

/**
 * Feature bits of virtio 1.2 (device-independent and virtio-net) and of vhost-user's protocol
 * features, as bit numbers; {@link #bit} turns one into its mask. Negotiation is the AND of what
 * both sides offer; a back end also refuses a SET_FEATURES naming a bit it never offered.
 */
public final class VirtioFeatures {
    private VirtioFeatures() {
    }

    // virtio-net device features (virtio 1.2, 5.1.3)
    public static final int NET_F_CSUM = 0, NET_F_GUEST_CSUM = 1, NET_F_CTRL_GUEST_OFFLOADS = 2, NET_F_MTU = 3,
            NET_F_MAC = 5, NET_F_GUEST_TSO4 = 7, NET_F_GUEST_TSO6 = 8, NET_F_GUEST_ECN = 9, NET_F_GUEST_UFO = 10,
            NET_F_HOST_TSO4 = 11, NET_F_HOST_TSO6 = 12, NET_F_HOST_ECN = 13, NET_F_HOST_UFO = 14, NET_F_MRG_RXBUF = 15,
            NET_F_STATUS = 16, NET_F_CTRL_VQ = 17, NET_F_CTRL_RX = 18, NET_F_CTRL_VLAN = 19, NET_F_GUEST_ANNOUNCE = 21,
            NET_F_MQ = 22, NET_F_CTRL_MAC_ADDR = 23;
    // device-independent (virtio 1.2, 6) and vhost's own
    public static final int F_NOTIFY_ON_EMPTY = 24, F_LOG_ALL = 26, F_ANY_LAYOUT = 27, F_INDIRECT_DESC = 28,
            F_EVENT_IDX = 29, F_PROTOCOL_FEATURES = 30, F_VERSION_1 = 32, F_ACCESS_PLATFORM = 33, F_RING_PACKED = 34,
            F_IN_ORDER = 35, F_ORDER_PLATFORM = 36, F_SR_IOV = 37, F_NOTIFICATION_DATA = 38, F_RING_RESET = 40;

    // vhost-user protocol features (vhost-user.rst, "Protocol features")
    public static final int PROTOCOL_F_MQ = 0, PROTOCOL_F_LOG_SHMFD = 1, PROTOCOL_F_RARP = 2, PROTOCOL_F_REPLY_ACK = 3,
            PROTOCOL_F_NET_MTU = 4, PROTOCOL_F_BACKEND_REQ = 5, PROTOCOL_F_CROSS_ENDIAN = 6, PROTOCOL_F_CRYPTO_SESSION = 7,
            PROTOCOL_F_PAGEFAULT = 8, PROTOCOL_F_CONFIG = 9, PROTOCOL_F_BACKEND_SEND_FD = 10,
            PROTOCOL_F_HOST_NOTIFIER = 11, PROTOCOL_F_INFLIGHT_SHMFD = 12, PROTOCOL_F_RESET_DEVICE = 13,
            PROTOCOL_F_INBAND_NOTIFICATIONS = 14, PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15, PROTOCOL_F_STATUS = 16;

    /** virtio-net config status: link up. */
    public static final int NET_S_LINK_UP = 1, NET_S_ANNOUNCE = 2;

    /** Device status bits (SET_STATUS). */
    public static final int STATUS_ACKNOWLEDGE = 1, STATUS_DRIVER = 2, STATUS_DRIVER_OK = 4, STATUS_FEATURES_OK = 8,
            STATUS_NEEDS_RESET = 0x40, STATUS_FAILED = 0x80;

    public static long bit(int n) {
        return 1L << n;
    }

    public static boolean has(long features, int n) {
        return (features & (1L << n)) != 0;
    }

    /** Names of the device feature bits set in {@code features}, for logs: {@code MRG_RXBUF|VERSION_1|bit 41}. */
    public static String names(long features) {
        StringJoiner j = new StringJoiner("|");
        for (int b = 0; b < 64; b++) if (has(features, b)) j.add(featureName(b));
        return j.length() == 0 ? "none" : j.toString();
    }

    public static String featureName(int b) {
        return switch (b) {
            case NET_F_CSUM -> "CSUM";
            case NET_F_GUEST_CSUM -> "GUEST_CSUM";
            case NET_F_CTRL_GUEST_OFFLOADS -> "CTRL_GUEST_OFFLOADS";
            case NET_F_MTU -> "MTU";
            case NET_F_MAC -> "MAC";
            case NET_F_GUEST_TSO4 -> "GUEST_TSO4";
            case NET_F_GUEST_TSO6 -> "GUEST_TSO6";
            case NET_F_GUEST_ECN -> "GUEST_ECN";
            case NET_F_GUEST_UFO -> "GUEST_UFO";
            case NET_F_HOST_TSO4 -> "HOST_TSO4";
            case NET_F_HOST_TSO6 -> "HOST_TSO6";
            case NET_F_HOST_ECN -> "HOST_ECN";
            case NET_F_HOST_UFO -> "HOST_UFO";
            case NET_F_MRG_RXBUF -> "MRG_RXBUF";
            case NET_F_STATUS -> "STATUS";
            case NET_F_CTRL_VQ -> "CTRL_VQ";
            case NET_F_CTRL_RX -> "CTRL_RX";
            case NET_F_CTRL_VLAN -> "CTRL_VLAN";
            case NET_F_GUEST_ANNOUNCE -> "GUEST_ANNOUNCE";
            case NET_F_MQ -> "MQ";
            case NET_F_CTRL_MAC_ADDR -> "CTRL_MAC_ADDR";
            case F_NOTIFY_ON_EMPTY -> "NOTIFY_ON_EMPTY";
            case F_LOG_ALL -> "LOG_ALL";
            case F_ANY_LAYOUT -> "ANY_LAYOUT";
            case F_INDIRECT_DESC -> "INDIRECT_DESC";
            case F_EVENT_IDX -> "EVENT_IDX";
            case F_PROTOCOL_FEATURES -> "PROTOCOL_FEATURES";
            case F_VERSION_1 -> "VERSION_1";
            case F_ACCESS_PLATFORM -> "ACCESS_PLATFORM";
            case F_RING_PACKED -> "RING_PACKED";
            case F_IN_ORDER -> "IN_ORDER";
            case F_ORDER_PLATFORM -> "ORDER_PLATFORM";
            case F_SR_IOV -> "SR_IOV";
            case F_NOTIFICATION_DATA -> "NOTIFICATION_DATA";
            case F_RING_RESET -> "RING_RESET";
            default -> "bit " + b;
        };
    }

    /** Names of the protocol feature bits set in {@code features}. */
    public static String protocolNames(long features) {
        StringJoiner j = new StringJoiner("|");
        for (int b = 0; b < 64; b++) {
            if (!has(features, b)) continue;
            j.add(switch (b) {
                case PROTOCOL_F_MQ -> "MQ";
                case PROTOCOL_F_LOG_SHMFD -> "LOG_SHMFD";
                case PROTOCOL_F_RARP -> "RARP";
                case PROTOCOL_F_REPLY_ACK -> "REPLY_ACK";
                case PROTOCOL_F_NET_MTU -> "NET_MTU";
                case PROTOCOL_F_BACKEND_REQ -> "BACKEND_REQ";
                case PROTOCOL_F_CONFIG -> "CONFIG";
                case PROTOCOL_F_RESET_DEVICE -> "RESET_DEVICE";
                case PROTOCOL_F_STATUS -> "STATUS";
                default -> "bit " + b;
            });
        }
        return j.length() == 0 ? "none" : j.toString();
    }
}
