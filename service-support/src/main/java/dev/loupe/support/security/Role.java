package dev.loupe.support.security;

/** The realm roles Loupe's Keycloak realm defines, by the names tokens carry. */
public enum Role {
    TENANT_ADMIN("tenant-admin"), DATA_STEWARD("data-steward"), ML_ENGINEER("ml-engineer"), COMPLIANCE_OFFICER(
            "compliance-officer"), MODEL_CONSUMER("model-consumer"), PLATFORM_ADMIN("platform-admin"),
    /** Held only by the services' own service accounts, for calls a service makes on its own behalf. */
    SERVICE("loupe-service"),
    /**
     * Held only by the trainer workers' account (Kubernetes executor): reports for the job a worker key names and
     * reads training examples, nothing else. The dataset-service does not check which job a read names against the
     * training-service, so the account's secret opens any version whose tenant it names: it must stay in the worker
     * pods (docs/security.md).
     */
    TRAINER_WORKER("loupe-trainer-worker");

    private final String tokenName;

    Role(String tokenName) {
        this.tokenName = tokenName;
    }

    /** The role's name in the token's {@code realm_access.roles}. */
    public String tokenName() {
        return tokenName;
    }
}
