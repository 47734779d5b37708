package dev.loupe.support.testing;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateKey;
import java.util.Base64;
import java.util.Map;
import java.util.function.Supplier;

import org.jose4j.jws.AlgorithmIdentifiers;
import org.jose4j.jws.JsonWebSignature;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.lang.JoseException;

/**
 * Tokens every Loupe service must reject, each derived from a real token so that only one thing is wrong
 * with it. Used by the token abuse tests at the gateway and on each service's gRPC port.
 */
public final class ForgedTokens {
    private ForgedTokens() {
    }

    /**
     * The cases, by name. {@code expired} comes from a realm client whose tokens live two seconds: the test
     * waits for its expiry. {@code wrong-issuer} is validly signed by the realm's own key, but issued under
     * another host name, which makes it another issuer.
     */
    public static Map<String, Supplier<String>> cases(String username) {
        return Map.of(
                "tampered-payload", () -> tamperedPayload(KeycloakTokens.accessToken(username)),
                "tampered-signature", () -> tamperedSignature(KeycloakTokens.accessToken(username)),
                "alg-none", () -> algNone(KeycloakTokens.accessToken(username)),
                "signed-by-another-key", () -> signedByAnotherKey(KeycloakTokens.accessToken(username)),
                "wrong-issuer", () -> KeycloakTokens.passwordGrant(
                        KeycloakTokens.REALM_URL.replace("localhost", "127.0.0.1"), "loupe-cli", username),
                "garbage", () -> "not-a-jwt");
    }

    /** A token that is valid now and expires two seconds after issue. */
    public static String shortLived(String username) {
        return KeycloakTokens.passwordGrant(KeycloakTokens.REALM_URL, "loupe-cli-short-lived", username);
    }

    /** Same header and signature, payload changed to another tenant. */
    public static String tamperedPayload(String token) {
        String[] parts = token.split("\\.");
        String payload = decode(parts[1]).replaceAll("\"tenant\":\"[^\"]*\"", "\"tenant\":\"initech\"");
        return parts[0] + "." + encode(payload) + "." + parts[2];
    }

    /** Same header and payload, one signature byte flipped. */
    public static String tamperedSignature(String token) {
        String[] parts = token.split("\\.");
        byte[] signature = Base64.getUrlDecoder().decode(parts[2]);
        signature[signature.length / 2] ^= 0x01;
        return parts[0] + "." + parts[1] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(signature);
    }

    /** The same payload with {@code "alg":"none"} and no signature. */
    public static String algNone(String token) {
        String payload = token.split("\\.")[1];
        return encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + payload + ".";
    }

    /** The same claims and key id, signed with a freshly generated RSA key. */
    public static String signedByAnotherKey(String token) {
        String[] parts = token.split("\\.");
        try {
            JwtClaims claims = JwtClaims.parse(decode(parts[1]));
            String header = decode(parts[0]);
            String kid = header.replaceAll(".*\"kid\"\\s*:\\s*\"([^\"]+)\".*", "$1");
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            JsonWebSignature jws = new JsonWebSignature();
            jws.setPayload(claims.toJson());
            jws.setAlgorithmHeaderValue(AlgorithmIdentifiers.RSA_USING_SHA256);
            jws.setKeyIdHeaderValue(kid);
            jws.setKey((RSAPrivateKey) generator.generateKeyPair().getPrivate());
            return jws.getCompactSerialization();
        } catch (NoSuchAlgorithmException | JoseException | org.jose4j.jwt.consumer.InvalidJwtException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String decode(String part) {
        return new String(Base64.getUrlDecoder().decode(part), StandardCharsets.UTF_8);
    }

    private static String encode(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }
}
