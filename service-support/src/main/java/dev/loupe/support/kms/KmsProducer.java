package dev.loupe.support.kms;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** Makes the KMS that {@code loupe.kms.provider} names available for injection. */
@ApplicationScoped
public class KmsProducer {

    @Produces
    @ApplicationScoped
    SigningKeys signingKeys(KmsConfig config) {
        return switch (config.provider()) {
            case local -> new LocalSigningKeys(config.local().keyDir());
            case vault -> throw new IllegalStateException("loupe.kms.provider=vault is not available yet");
        };
    }
}
