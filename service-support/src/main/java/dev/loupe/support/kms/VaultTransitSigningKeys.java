package dev.loupe.support.kms;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import io.quarkus.vault.VaultTransitSecretEngine;
import io.quarkus.vault.transit.KeyCreationRequestDetail;
import io.quarkus.vault.transit.SigningInput;
import io.quarkus.vault.transit.VaultTransitAsymmetricKeyDetail;
import io.quarkus.vault.transit.VaultTransitAsymmetricKeyVersion;
import io.quarkus.vault.transit.VaultTransitKeyDetail;

/**
 * Signing keys held by HashiCorp Vault's transit engine: the production provider. The private keys never leave
 * Vault; Loupe sends the bytes to sign and reads the public keys. Keys are {@code ed25519} transit keys, not
 * exportable, created on first use; Vault picks the newest version when signing and names it in the signature
 * ({@code vault:v3:...}), which becomes the key id {@code vault:<name>:v3}.
 */
public final class VaultTransitSigningKeys implements SigningKeys {
    private final VaultTransitSecretEngine transit;
    /** Keys known to exist, so that each signature costs one call to Vault, not two. */
    private final Set<String> existing = ConcurrentHashMap.newKeySet();

    public VaultTransitSigningKeys(VaultTransitSecretEngine transit) {
        this.transit = transit;
    }

    @Override
    public KeySignature sign(String keyName, byte[] message) {
        if (!existing.contains(keyName)) {
            if (transit.readKey(keyName).isEmpty()) {
                transit.createKey(keyName, new KeyCreationRequestDetail().setType("ed25519").setExportable(false));
            }
            existing.add(keyName);
        }
        String signature = transit.sign(keyName, new SigningInput(message), null);
        // Vault's format: vault:v<version>:<base64 signature>.
        String[] parts = signature.split(":", 3);
        if (parts.length != 3 || !parts[0].equals("vault") || !parts[1].startsWith("v")) {
            throw new IllegalStateException("Vault answered a signature in an unknown format for key " + keyName);
        }
        return new KeySignature("vault:" + keyName + ":" + parts[1], Base64.getDecoder().decode(parts[2]));
    }

    @Override
    public List<VerificationKey> verificationKeys(String keyName) {
        Optional<VaultTransitKeyDetail<?>> key = transit.readKey(keyName);
        if (key.isEmpty()) {
            return List.of();
        }
        if (!(key.get() instanceof VaultTransitAsymmetricKeyDetail asymmetric)) {
            throw new IllegalStateException("Vault transit key " + keyName + " is not an asymmetric (ed25519) key");
        }
        Map<Integer, String> byVersion = new TreeMap<>();
        for (Map.Entry<String, VaultTransitAsymmetricKeyVersion> version : asymmetric.getVersions().entrySet()) {
            byVersion.put(Integer.parseInt(version.getKey()), version.getValue().getPublicKey());
        }
        List<VerificationKey> keys = new ArrayList<>();
        byVersion.forEach((version, publicKey) -> keys.add(new VerificationKey("vault:" + keyName + ":v" + version,
                Base64.getDecoder().decode(publicKey))));
        return keys;
    }

    @Override
    public String rotate(String keyName) {
        transit.rotateKey(keyName);
        List<VerificationKey> keys = verificationKeys(keyName);
        return keys.get(keys.size() - 1).keyId();
    }
}
