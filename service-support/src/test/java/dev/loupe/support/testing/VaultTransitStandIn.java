package dev.loupe.support.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A stand-in for the part of HashiCorp Vault's transit secrets engine HTTP API that Loupe uses, because no Vault
 * server can be installed where Loupe is built and tested. It holds real Ed25519 and AES-256 keys and really
 * signs and encrypts, so that what Loupe's Vault provider does is checked end to end through the quarkus-vault
 * client; it is not Vault, and behaviour it does not model (policies, leases, storage) is not tested by it.
 *
 * <p>
 * Endpoints: {@code GET /v1/auth/token/lookup-self}; {@code GET} and {@code POST /v1/transit/keys/:name} (read,
 * create: types {@code ed25519} and {@code aes256-gcm96}); {@code POST /v1/transit/keys/:name/rotate};
 * {@code POST /v1/transit/sign/:name[/:algorithm]} with {@code input} or {@code batch_input} (ed25519 keys);
 * {@code POST /v1/transit/hmac/:name[/:algorithm]} with {@code input} and optional {@code key_version}
 * (SHA-256 only; like Vault, every version of every key holds its own random HMAC key);
 * {@code POST /v1/transit/keys/:name/config} with {@code min_decryption_version} (0 counts as 1; above the latest
 * version or below the minimum available one refused), {@code min_encryption_version} and
 * {@code deletion_allowed};
 * {@code POST /v1/transit/keys/:name/trim} with {@code min_available_version} (refused, as Vault does, unless
 * {@code min_encryption_version} is set and neither it nor the minimum decryption version is below it; answers
 * 204); {@code DELETE /v1/transit/keys/:name} (refused with 400 for a
 * missing key and until deletion is allowed). For aes256-gcm96 keys, every version of which also holds its own random AES-256 key:
 * {@code POST /v1/transit/datakey/plaintext/:name} with optional {@code bits} (128, 256 or 512; answers
 * {@code plaintext}, {@code ciphertext} and {@code key_version}), {@code POST /v1/transit/decrypt/:name} and
 * {@code POST /v1/transit/rewrap/:name} with {@code ciphertext}. Ciphertexts are laid out as Vault's,
 * {@code vault:v<n>:<base64 12-byte nonce || ciphertext || 16-byte tag>}, and refused with Vault's error texts,
 * checked in Vault's order (no prefix, too new, below {@code min_decryption_version} or trimmed, bad base64, failed tag
 * check). Every request must carry the token in {@code X-Vault-Token} (403 otherwise); anything else answers 404
 * in Vault's error shape and is remembered in {@link #unhandled()}.
 */
public final class VaultTransitStandIn implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String token;
    private final HttpServer server;
    private final Map<String, TransitKey> keys = new ConcurrentHashMap<>();
    private final List<String> unhandled = new CopyOnWriteArrayList<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();

    public VaultTransitStandIn(String token) throws IOException {
        this.token = token;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Requests no endpoint answered, as {@code METHOD path}. */
    public List<String> unhandled() {
        return List.copyOf(unhandled);
    }

    /** Every request received, as {@code METHOD path}. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        requests.add(method + " " + path);
        try (exchange) {
            if (!token.equals(exchange.getRequestHeaders().getFirst("X-Vault-Token"))) {
                error(exchange, 403, "permission denied");
                return;
            }
            JsonNode body = readBody(exchange.getRequestBody());
            String[] parts = path.split("/");
            if (path.equals("/v1/auth/token/lookup-self") && method.equals("GET")) {
                ObjectNode data = JSON.createObjectNode().put("ttl", 0).put("renewable", false);
                data.putArray("policies").add("loupe");
                respond(exchange, 200, data);
            } else if (parts.length == 5 && path.startsWith("/v1/transit/keys/") && method.equals("GET")) {
                TransitKey key = keys.get(parts[4]);
                if (key == null) {
                    error(exchange, 404, null);
                } else {
                    respond(exchange, 200, keyInfo(parts[4], key));
                }
            } else if (parts.length == 5 && path.startsWith("/v1/transit/keys/") && method.equals("POST")) {
                String type = body.path("type").asText("aes256-gcm96");
                if (!type.equals("ed25519") && !type.equals("aes256-gcm96")) {
                    error(exchange, 400, "this stand-in only makes ed25519 and aes256-gcm96 keys, not " + type);
                    return;
                }
                if (!keys.containsKey(parts[4])) {
                    keys.putIfAbsent(parts[4], new TransitKey(type, new CopyOnWriteArrayList<>(List.of(newVersion(
                            type)))));
                }
                respond(exchange, 200, keyInfo(parts[4], keys.get(parts[4])));
            } else if (parts.length == 6 && path.startsWith("/v1/transit/keys/") && parts[5].equals("rotate")
                    && method.equals("POST")) {
                TransitKey key = keys.get(parts[4]);
                if (key == null) {
                    error(exchange, 400, "no key " + parts[4]);
                    return;
                }
                key.versions().add(newVersion(key.type()));
                respond(exchange, 200, keyInfo(parts[4], key));
            } else if (parts.length == 6 && path.startsWith("/v1/transit/keys/") && parts[5].equals("config")
                    && method.equals("POST")) {
                configure(exchange, parts[4], body);
            } else if (parts.length == 6 && path.startsWith("/v1/transit/keys/") && parts[5].equals("trim")
                    && method.equals("POST")) {
                trim(exchange, parts[4], body);
            } else if (parts.length == 5 && path.startsWith("/v1/transit/keys/") && method.equals("DELETE")) {
                TransitKey key = keys.get(parts[4]);
                if (key == null || !key.deletionAllowed) {
                    error(exchange, 400, "error deleting policy " + parts[4] + ": "
                            + (key == null
                                    ? "could not delete policy; not found"
                                    : "deletion is not allowed for this policy"));
                    return;
                }
                keys.remove(parts[4]);
                exchange.sendResponseHeaders(204, -1);
            } else if (parts.length == 6 && path.startsWith("/v1/transit/datakey/") && parts[4].equals("plaintext")
                    && method.equals("POST")) {
                dataKey(exchange, parts[5], body);
            } else if (parts.length == 5 && path.startsWith("/v1/transit/decrypt/") && method.equals("POST")) {
                decrypt(exchange, parts[4], body);
            } else if (parts.length == 5 && path.startsWith("/v1/transit/rewrap/") && method.equals("POST")) {
                rewrap(exchange, parts[4], body);
            } else if (parts.length >= 5 && path.startsWith("/v1/transit/sign/") && method.equals("POST")) {
                sign(exchange, parts[4], body);
            } else if (parts.length >= 5 && path.startsWith("/v1/transit/hmac/") && method.equals("POST")) {
                hmac(exchange, parts[4], parts.length > 5 ? parts[5] : body.path("algorithm").asText("sha2-256"), body);
            } else {
                unhandled.add(method + " " + path);
                error(exchange, 404, "the stand-in does not implement " + method + " " + path);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private void sign(HttpExchange exchange, String name, JsonNode body) throws IOException, GeneralSecurityException {
        TransitKey key = keys.get(name);
        if (key == null || !key.type().equals("ed25519")) {
            error(exchange, 400, key == null ? "encryption key not found" : "key type does not support signing");
            return;
        }
        List<Version> versions = key.versions();
        int version = body.path("key_version").asInt(0) == 0 ? versions.size() : body.path("key_version").asInt();
        if (body.has("batch_input")) {
            ArrayNode results = JSON.createArrayNode();
            for (JsonNode item : body.get("batch_input")) {
                results.addObject()
                        .put("signature", signature(versions, version, item.path("input").asText()))
                        .put("key_version", version);
            }
            ObjectNode data = JSON.createObjectNode();
            data.set("batch_results", results);
            respond(exchange, 200, data);
        } else {
            respond(exchange, 200, JSON.createObjectNode()
                    .put("signature", signature(versions, version, body.path("input").asText()))
                    .put("key_version", version));
        }
    }

    private void hmac(HttpExchange exchange, String name, String algorithm, JsonNode body)
            throws IOException, GeneralSecurityException {
        TransitKey key = keys.get(name);
        if (key == null) {
            error(exchange, 400, "encryption key not found");
            return;
        }
        if (!algorithm.equals("sha2-256")) {
            error(exchange, 400, "this stand-in only computes sha2-256 HMACs, not " + algorithm);
            return;
        }
        int version = body.path("key_version").asInt(0) == 0 ? key.versions().size() : body.path("key_version").asInt();
        if (version > key.versions().size()) {
            error(exchange, 400, "cannot generate HMAC: invalid key version");
            return;
        }
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key.versions().get(version - 1).hmacKey(), "HmacSHA256"));
        byte[] result = mac.doFinal(Base64.getDecoder().decode(body.path("input").asText()));
        respond(exchange, 200, JSON.createObjectNode()
                .put("hmac", "vault:v" + version + ":" + Base64.getEncoder().encodeToString(result)));
    }

    private void configure(HttpExchange exchange, String name, JsonNode body) throws IOException {
        TransitKey key = keys.get(name);
        if (key == null) {
            error(exchange, 400, "no existing key named " + name + " could be found");
            return;
        }
        if (body.has("min_decryption_version")) {
            // Vault's checks, in its order; nothing changes when one fails.
            int minimum = body.get("min_decryption_version").asInt();
            if (minimum < 0) {
                error(exchange, 400, "min decryption version cannot be negative");
                return;
            }
            minimum = Math.max(minimum, 1);
            if (minimum < key.minAvailableVersion) {
                error(exchange, 400, "min decryption version should not be less than min available version");
                return;
            }
            if (minimum != key.minDecryptionVersion && minimum > key.versions().size()) {
                error(exchange, 400, "cannot set min decryption version of " + minimum + ", latest key version is "
                        + key.versions().size());
                return;
            }
            key.minDecryptionVersion = minimum;
        }
        if (body.has("min_encryption_version")) {
            int minimum = body.get("min_encryption_version").asInt();
            if (minimum < 0 || minimum > key.versions().size()) {
                error(exchange, 400, "cannot set min encryption version of " + minimum + ", latest key version is "
                        + key.versions().size());
                return;
            }
            key.minEncryptionVersion = minimum;
        }
        if (body.has("deletion_allowed")) {
            key.deletionAllowed = body.get("deletion_allowed").asBoolean();
        }
        respond(exchange, 200, keyInfo(name, key));
    }

    private void trim(HttpExchange exchange, String name, JsonNode body) throws IOException {
        TransitKey key = keys.get(name);
        if (key == null) {
            error(exchange, 400, "invalid key " + name);
            return;
        }
        int minimum = body.path("min_available_version").asInt(0);
        if (minimum < 1 || minimum < key.minAvailableVersion) {
            error(exchange, 400, "minimum available version should be positive and not less than the existing value");
            return;
        }
        // Vault's preconditions, in its order: the minimum encryption version must be set, and the minimum available
        // version may exceed neither it nor the minimum decryption version.
        if (key.minEncryptionVersion == 0) {
            error(exchange, 400, "minimum available version cannot be set when minimum encryption version is not set");
            return;
        }
        if (minimum > key.minEncryptionVersion) {
            error(exchange, 400, "minimum available version cannot be greater than minmum encryption version");
            return;
        }
        if (minimum > key.minDecryptionVersion) {
            error(exchange, 400, "minimum available version cannot be greater than minimum decryption version");
            return;
        }
        key.minAvailableVersion = minimum;
        exchange.sendResponseHeaders(204, -1);
        exchange.close();
    }

    private void dataKey(HttpExchange exchange, String name, JsonNode body)
            throws IOException, GeneralSecurityException {
        TransitKey key = encryptionKey(exchange, name);
        if (key == null) {
            return;
        }
        int bits = body.path("bits").asInt(256);
        if (bits != 128 && bits != 256 && bits != 512) {
            error(exchange, 400, "invalid bit length");
            return;
        }
        byte[] plaintext = new byte[bits / 8];
        RANDOM.nextBytes(plaintext);
        respond(exchange, 200, JSON.createObjectNode()
                .put("plaintext", Base64.getEncoder().encodeToString(plaintext))
                .put("ciphertext", seal(key, key.versions().size(), plaintext))
                .put("key_version", key.versions().size()));
    }

    private void decrypt(HttpExchange exchange, String name, JsonNode body) throws IOException,
            GeneralSecurityException {
        TransitKey key = encryptionKey(exchange, name);
        if (key == null) {
            return;
        }
        byte[] plaintext = open(exchange, key, body.path("ciphertext").asText());
        if (plaintext != null) {
            respond(exchange, 200, JSON.createObjectNode().put("plaintext",
                    Base64.getEncoder().encodeToString(plaintext)));
        }
    }

    private void rewrap(HttpExchange exchange, String name, JsonNode body) throws IOException,
            GeneralSecurityException {
        TransitKey key = encryptionKey(exchange, name);
        if (key == null) {
            return;
        }
        byte[] plaintext = open(exchange, key, body.path("ciphertext").asText());
        if (plaintext != null) {
            respond(exchange, 200, JSON.createObjectNode()
                    .put("ciphertext", seal(key, key.versions().size(), plaintext))
                    .put("key_version", key.versions().size()));
        }
    }

    /** The named aes256-gcm96 key, or null after answering Vault's error. */
    private TransitKey encryptionKey(HttpExchange exchange, String name) throws IOException {
        TransitKey key = keys.get(name);
        if (key == null) {
            error(exchange, 400, "encryption key not found");
            return null;
        }
        if (key.type().equals("ed25519")) {
            error(exchange, 400, "message encryption not supported for key type ed25519");
            return null;
        }
        return key;
    }

    /** Vault's ciphertext layout: {@code vault:v<n>:<base64 nonce || ciphertext || tag>}. */
    private static String seal(TransitKey key, int version, byte[] plaintext) throws GeneralSecurityException {
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(nonce);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key.versions().get(version - 1).aesKey(), "AES"),
                new GCMParameterSpec(128, nonce));
        byte[] sealed = cipher.doFinal(plaintext);
        byte[] out = new byte[nonce.length + sealed.length];
        System.arraycopy(nonce, 0, out, 0, nonce.length);
        System.arraycopy(sealed, 0, out, nonce.length, sealed.length);
        return "vault:v" + version + ":" + Base64.getEncoder().encodeToString(out);
    }

    /** The plaintext of a ciphertext, or null after answering the error Vault gives, checked in Vault's order. */
    private static byte[] open(HttpExchange exchange, TransitKey key, String ciphertext) throws IOException,
            GeneralSecurityException {
        if (ciphertext.isEmpty()) {
            error(exchange, 400, "missing ciphertext to decrypt");
            return null;
        }
        if (!ciphertext.startsWith("vault:v")) {
            error(exchange, 400, "invalid ciphertext: no prefix");
            return null;
        }
        String[] parts = ciphertext.substring("vault:v".length()).split(":", 2);
        if (parts.length != 2) {
            error(exchange, 400, "invalid ciphertext: wrong number of fields");
            return null;
        }
        int version;
        try {
            // Vault reads version 0 as 1, from before its versions started at 1.
            version = Math.max(Integer.parseInt(parts[0]), 1);
        } catch (NumberFormatException e) {
            error(exchange, 400, "invalid ciphertext: version number could not be decoded");
            return null;
        }
        if (version > key.versions().size()) {
            error(exchange, 400, "invalid ciphertext: version is too new");
            return null;
        }
        if (version < key.minDecryptionVersion || version < key.minAvailableVersion) {
            error(exchange, 400, "ciphertext or signature version is disallowed by policy (too old)");
            return null;
        }
        byte[] sealed;
        try {
            sealed = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            error(exchange, 400, "invalid ciphertext: could not decode base64");
            return null;
        }
        if (sealed.length < 12 + 16) {
            error(exchange, 400, "invalid ciphertext length");
            return null;
        }
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key.versions().get(version - 1).aesKey(), "AES"),
                new GCMParameterSpec(128, sealed, 0, 12));
        try {
            return cipher.doFinal(sealed, 12, sealed.length - 12);
        } catch (AEADBadTagException e) {
            error(exchange, 400, "cipher: message authentication failed");
            return null;
        }
    }

    private static String signature(List<Version> versions, int version, String base64Input)
            throws GeneralSecurityException {
        Signature signer = Signature.getInstance("Ed25519");
        signer.initSign(versions.get(version - 1).signing().getPrivate());
        signer.update(Base64.getDecoder().decode(base64Input));
        return "vault:v" + version + ":" + Base64.getEncoder().encodeToString(signer.sign());
    }

    private static ObjectNode keyInfo(String name, TransitKey key) {
        boolean signing = key.type().equals("ed25519");
        List<Version> versions = key.versions();
        ObjectNode data = JSON.createObjectNode()
                .put("name", name)
                .put("type", key.type())
                .put("latest_version", versions.size())
                .put("min_available_version", 0)
                .put("min_decryption_version", key.minDecryptionVersion)
                .put("min_encryption_version", key.minEncryptionVersion)
                .put("exportable", false)
                .put("deletion_allowed", key.deletionAllowed)
                .put("derived", false)
                .put("supports_encryption", !signing)
                .put("supports_decryption", !signing)
                .put("supports_derivation", true)
                .put("supports_signing", signing)
                .put("allow_plaintext_backup", false)
                .put("auto_rotate_period", 0);
        ObjectNode keyVersions = data.putObject("keys");
        for (int i = 0; i < versions.size(); i++) {
            if (!signing) {
                // Vault lists a symmetric key's versions with their creation time in seconds, nothing secret.
                keyVersions.put(Integer.toString(i + 1), Instant.now().getEpochSecond());
                continue;
            }
            byte[] x509 = versions.get(i).signing().getPublic().getEncoded();
            keyVersions.putObject(Integer.toString(i + 1))
                    .put("name", "ed25519")
                    .put("public_key", Base64.getEncoder().encodeToString(Arrays.copyOfRange(x509, x509.length - 32,
                            x509.length)))
                    .put("creation_time", Instant.now().toString());
        }
        return data;
    }

    private static Version newVersion(String type) throws GeneralSecurityException {
        byte[] hmacKey = new byte[32];
        RANDOM.nextBytes(hmacKey);
        KeyPair signing = type.equals("ed25519") ? KeyPairGenerator.getInstance("Ed25519").generateKeyPair() : null;
        byte[] aesKey = null;
        if (!type.equals("ed25519")) {
            aesKey = new byte[32];
            RANDOM.nextBytes(aesKey);
        }
        return new Version(signing, hmacKey, aesKey);
    }

    /** A transit key: its type, its versions, oldest first, and the settings of its {@code config} endpoint. */
    private static final class TransitKey {
        final String type;
        final List<Version> versions;
        volatile int minDecryptionVersion = 1;
        /** Versions below it were trimmed: deleted for good. */
        volatile int minAvailableVersion = 1;
        /** 0 until set: then trimming is allowed up to it. */
        volatile int minEncryptionVersion;
        volatile boolean deletionAllowed;

        TransitKey(String type, List<Version> versions) {
            this.type = type;
            this.versions = versions;
        }

        String type() {
            return type;
        }

        List<Version> versions() {
            return versions;
        }
    }

    /**
     * One version: the signing pair of an ed25519 key, the AES-256 key of an aes256-gcm96 key, and the HMAC key
     * every version has.
     */
    private record Version(KeyPair signing, byte[] hmacKey, byte[] aesKey) {
    }

    private static JsonNode readBody(InputStream in) throws IOException {
        byte[] bytes = in.readAllBytes();
        return bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes);
    }

    private static void respond(HttpExchange exchange, int status, ObjectNode data) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        body.set("data", data);
        write(exchange, status, body);
    }

    private static void error(HttpExchange exchange, int status, String message) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode errors = body.putArray("errors");
        if (message != null) {
            errors.add(message);
        }
        write(exchange, status, body);
    }

    private static void write(HttpExchange exchange, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
