package dev.loupe.dataset.model;

import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.EmbeddedId;
import jakarta.persistence.Entity;
import jakarta.persistence.Table;

/** The first use of an {@code Idempotency-Key}: which request it carried and what that request created. */
@Entity
@Table(name = "idempotency_key")
public class IdempotencyKey {
    @EmbeddedId
    public Key id;

    /** SHA-256 of the request's meaningful fields, to tell a retry from a different request. */
    @Column(name = "request_hash", nullable = false)
    public String requestHash;

    @Column(name = "resource_id", nullable = false)
    public UUID resourceId;

    @Column(name = "created_at", nullable = false)
    public Instant createdAt;

    @Embeddable
    public static class Key implements Serializable {
        private static final long serialVersionUID = 1L;

        public String tenant;
        public String operation;
        public String key;

        public Key() {
        }

        public Key(String tenant, String operation, String key) {
            this.tenant = tenant;
            this.operation = operation;
            this.key = key;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key that && tenant.equals(that.tenant) && operation.equals(that.operation)
                    && key.equals(that.key);
        }

        @Override
        public int hashCode() {
            return Objects.hash(tenant, operation, key);
        }
    }
}
