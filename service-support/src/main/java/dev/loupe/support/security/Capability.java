package dev.loupe.support.security;

import java.util.Collection;
import java.util.EnumSet;
import java.util.Set;

import static dev.loupe.support.security.Role.COMPLIANCE_OFFICER;
import static dev.loupe.support.security.Role.DATA_STEWARD;
import static dev.loupe.support.security.Role.ML_ENGINEER;
import static dev.loupe.support.security.Role.MODEL_CONSUMER;
import static dev.loupe.support.security.Role.PLATFORM_ADMIN;
import static dev.loupe.support.security.Role.SERVICE;
import static dev.loupe.support.security.Role.TENANT_ADMIN;
import static dev.loupe.support.security.Role.TRAINER_WORKER;

/**
 * Loupe's role matrix: what each role may do. This enum is the single source of truth; every REST route
 * and every gRPC method names exactly one capability with {@link Authorized}, and a route or method without
 * one is denied.
 *
 * <p>
 * Every capability except {@link #PLATFORM_OPERATE} and {@link #AUDIT_APPEND} acts within the caller's own
 * tenant, so the caller's token must carry a {@code tenant} claim. {@code platform-admin} operates the platform
 * and holds no tenant capability: it reads no tenant's data or audit content.
 */
public enum Capability {
    /** Create, import into and delete datasets; freeze versions. */
    DATASETS_MANAGE(TENANT_ADMIN, DATA_STEWARD),
    /** Read dataset and record metadata and statistics. */
    DATASETS_READ(TENANT_ADMIN, DATA_STEWARD, ML_ENGINEER, COMPLIANCE_OFFICER),
    /** View decrypted images. */
    IMAGES_VIEW(DATA_STEWARD, ML_ENGINEER),
    /** Create, cancel, pause and resume fine-tuning jobs. */
    JOBS_MANAGE(TENANT_ADMIN, ML_ENGINEER),
    /** Read fine-tuning jobs and models. */
    JOBS_READ(TENANT_ADMIN, ML_ENGINEER, COMPLIANCE_OFFICER),
    /** Approve or quarantine a model version (one the reviewer did not train). */
    MODELS_REVIEW(COMPLIANCE_OFFICER),
    /** Create and delete deployments. */
    DEPLOYMENTS_MANAGE(TENANT_ADMIN, ML_ENGINEER),
    /** Call inference ({@code /v1/chat/completions}, batches). */
    INFERENCE(ML_ENGINEER, MODEL_CONSUMER),
    /** Read, verify and export the audit trail. */
    AUDIT_READ(COMPLIANCE_OFFICER),
    /** Set retention policies and legal holds. */
    RETENTION_MANAGE(TENANT_ADMIN, DATA_STEWARD, COMPLIANCE_OFFICER),
    /** File erasure requests. */
    ERASURE_FILE(TENANT_ADMIN, DATA_STEWARD, COMPLIANCE_OFFICER),
    /** Execute erasure requests. */
    ERASURE_EXECUTE(COMPLIANCE_OFFICER),
    /** Register base models and operate the platform; not tenant-scoped. */
    PLATFORM_OPERATE(Scope.PLATFORM, PLATFORM_ADMIN),
    /** Append audit events to the governance-service (each service's outbox relay); not tenant-scoped. */
    AUDIT_APPEND(Scope.PLATFORM, SERVICE),
    /**
     * Read the decrypted examples of a dataset version for a training job (Loupe's services, and trainer workers
     * on other nodes). The caller names the tenant it acts for in the request, so this capability is not tied to a
     * tenant claim.
     */
    TRAINING_DATA_READ(Scope.PLATFORM, SERVICE, TRAINER_WORKER),
    /**
     * Fetch the spec of, and report for, the job a trainer worker was launched for (trainer workers on other
     * nodes only; the worker key of the launch binds the call to one job).
     */
    TRAINING_REPORT(Scope.PLATFORM, TRAINER_WORKER),
    /**
     * Find the model versions trained on given records, for erasure requests (Loupe's services only, naming the
     * tenant they act for).
     */
    LINEAGE_READ(Scope.PLATFORM, SERVICE),
    /**
     * Load an approved model version's weights to serve them, and follow its state (Loupe's services only, naming
     * the tenant they act for).
     */
    MODELS_LOAD(Scope.PLATFORM, SERVICE);

    /** Whether a capability acts within the caller's tenant or on the platform as a whole. */
    private enum Scope {
        TENANT, PLATFORM
    }

    private final Scope scope;
    private final Set<Role> allowedRoles;

    Capability(Role first, Role... rest) {
        this(Scope.TENANT, first, rest);
    }

    Capability(Scope scope, Role first, Role... rest) {
        this.scope = scope;
        this.allowedRoles = EnumSet.of(first, rest);
    }

    /** The roles this capability is granted to. */
    public Set<Role> allowedRoles() {
        return Set.copyOf(allowedRoles);
    }

    /** Whether the capability acts within the caller's tenant (and so needs a tenant claim). */
    public boolean tenantScoped() {
        return scope == Scope.TENANT;
    }

    /**
     * Whether a caller holding these token role names (and, for tenant-scoped capabilities, a tenant) may
     * use this capability.
     */
    public boolean allows(Collection<String> tokenRoles, boolean hasTenant) {
        if (tenantScoped() && !hasTenant) {
            return false;
        }
        return allowedRoles.stream().anyMatch(role -> tokenRoles.contains(role.tokenName()));
    }
}
