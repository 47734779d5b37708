package dev.loupe.support.kms;

import java.util.HexFormat;

/**
 * An HMAC-SHA256 and the key version that made it.
 *
 * @param version the key version, from 1
 * @param mac the 32 bytes of the HMAC
 */
public record KeyedHash(int version, byte[] mac) {

    /** The text form stored where the value would have been: {@code v<version>:<64 hex digits>}. */
    public String text() {
        return "v" + version + ":" + HexFormat.of().formatHex(mac);
    }
}
