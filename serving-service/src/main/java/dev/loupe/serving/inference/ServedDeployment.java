package dev.loupe.serving.inference;

import java.util.Map;
import java.util.concurrent.Semaphore;

import dev.loupe.engine.model.AdapterWeights;
import dev.loupe.serving.model.Deployment;

/**
 * A deployment in memory: its adapter beside its base's shared weights, and the permits that bound how many of its
 * requests are admitted at once.
 */
public final class ServedDeployment {
    private final Deployment deployment;
    private final BaseHost host;
    private final AdapterWeights adapter;
    private final Semaphore admission;
    private final DriftMonitor drift;
    private final Map<String, Double> trainingEvaluation;
    private DeploymentStats stats;
    /** Cleared (under the base model's lock) when the deployment is unloaded and its adapter freed. */
    private boolean open = true;

    ServedDeployment(Deployment deployment, BaseHost host, AdapterWeights adapter, DriftMonitor drift,
            Map<String, Double> trainingEvaluation) {
        this.deployment = deployment;
        this.host = host;
        this.adapter = adapter;
        this.drift = drift;
        this.trainingEvaluation = Map.copyOf(trainingEvaluation);
        this.admission = new Semaphore(deployment.maxConcurrentSequences());
    }

    public Deployment deployment() {
        return deployment;
    }

    public BaseHost host() {
        return host;
    }

    /** The adapter beside the shared base weights; null for a fully fine-tuned version, which has its own. */
    AdapterWeights adapter() {
        return adapter;
    }

    /** The model version's scores on its training job's validation split. */
    public Map<String, Double> trainingEvaluation() {
        return trainingEvaluation;
    }

    public DriftMonitor drift() {
        return drift;
    }

    public DeploymentStats stats() {
        return stats;
    }

    void stats(DeploymentStats stats) {
        this.stats = stats;
    }

    Semaphore admission() {
        return admission;
    }

    /** Requests admitted and not yet answered. */
    public int inFlight() {
        return deployment.maxConcurrentSequences() - admission.availablePermits();
    }

    /** Only under the base model's lock: whether a batch may still use the adapter. */
    boolean open() {
        return open;
    }

    /** Only under the base model's lock: frees the adapter; batches that start later fail their requests. */
    void close() {
        open = false;
        if (adapter != null) {
            adapter.close();
        }
    }
}
