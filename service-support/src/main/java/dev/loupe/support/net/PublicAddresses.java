package dev.loupe.support.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * Which addresses Loupe may fetch from: public ones only. Not loopback, link-local, private, unspecified, multicast,
 * documentation or other special ranges, nor an IPv6 form embedding such an IPv4 address (mapped, compatible,
 * NAT64, 6to4): a fetch must never reach the cluster's own services (server-side request forgery).
 */
public final class PublicAddresses {
    /** IPv4 ranges that are not public: loopback, private, link-local, unspecified and the other special ones. */
    private static final List<Ipv4Block> IPV4_BLOCKED = List.of(
            new Ipv4Block("0.0.0.0", 8, "unspecified"),
            new Ipv4Block("10.0.0.0", 8, "private"),
            new Ipv4Block("100.64.0.0", 10, "shared address space (carrier-grade NAT)"),
            new Ipv4Block("127.0.0.0", 8, "loopback"),
            new Ipv4Block("169.254.0.0", 16, "link-local"),
            new Ipv4Block("172.16.0.0", 12, "private"),
            new Ipv4Block("192.0.0.0", 24, "IETF protocol assignment"),
            new Ipv4Block("192.0.2.0", 24, "documentation"),
            new Ipv4Block("192.168.0.0", 16, "private"),
            new Ipv4Block("198.18.0.0", 15, "benchmarking"),
            new Ipv4Block("198.51.100.0", 24, "documentation"),
            new Ipv4Block("203.0.113.0", 24, "documentation"),
            new Ipv4Block("224.0.0.0", 4, "multicast"),
            new Ipv4Block("240.0.0.0", 4, "reserved or broadcast"));

    private record Ipv4Block(String network, int prefix, String kind) {
        boolean contains(int address) {
            int mask = -1 << (32 - prefix);
            return (address & mask) == (parseIpv4(network) & mask);
        }
    }

    private PublicAddresses() {
    }

    /** Why the address is not public (e.g. {@code loopback (127.0.0.0/8)}); empty when it is. */
    public static Optional<String> whyNotPublic(InetAddress address) {
        if (address instanceof Inet4Address v4) {
            // Also an IPv4-mapped address (::ffff:a.b.c.d), which Java hands back as IPv4.
            return whyNotPublicIpv4(toInt(v4.getAddress(), 0));
        }
        byte[] b = ((Inet6Address) address).getAddress();
        String kind = null;
        if (address.isAnyLocalAddress()) {
            kind = "unspecified";
        } else if (address.isLoopbackAddress()) {
            kind = "loopback";
        } else if (address.isLinkLocalAddress()) {
            kind = "link-local";
        } else if (address.isSiteLocalAddress()) {
            kind = "site-local";
        } else if (address.isMulticastAddress()) {
            kind = "multicast";
        } else if ((b[0] & 0xfe) == 0xfc) {
            kind = "unique local (private)";
        } else if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x01 && (b[2] & 0xff) == 0x0d && (b[3] & 0xff) == 0xb8) {
            kind = "documentation";
        } else if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x01 && b[2] == 0 && b[3] == 0) {
            kind = "Teredo tunnel";
        }
        if (kind != null) {
            return Optional.of(kind);
        }
        if (allZero(b, 0, 12)) {
            // IPv4-compatible ::a.b.c.d
            return whyNotPublicIpv4(toInt(b, 12));
        } else if (b[0] == 0 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b
                && allZero(b, 4, 8)) {
            // NAT64 64:ff9b::a.b.c.d
            return whyNotPublicIpv4(toInt(b, 12));
        } else if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) {
            // 6to4 2002:aabb:ccdd::
            return whyNotPublicIpv4(toInt(b, 2));
        }
        return Optional.empty();
    }

    private static Optional<String> whyNotPublicIpv4(int address) {
        for (Ipv4Block block : IPV4_BLOCKED) {
            if (block.contains(address)) {
                return Optional.of(block.kind() + " (" + block.network() + "/" + block.prefix() + ")");
            }
        }
        return Optional.empty();
    }

    /** A canonical dotted quad as a 32-bit number. */
    private static int parseIpv4(String dotted) {
        int address = 0;
        for (String part : dotted.split("\\.")) {
            address = (address << 8) | Integer.parseInt(part);
        }
        return address;
    }

    private static int toInt(byte[] b, int offset) {
        return ((b[offset] & 0xff) << 24) | ((b[offset + 1] & 0xff) << 16) | ((b[offset + 2] & 0xff) << 8)
                | (b[offset + 3] & 0xff);
    }

    private static boolean allZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
