package dev.loupe.engine.model;

import ai.djl.ndarray.NDArray;

/**
 * The keys and values every decoder layer computed for the positions seen so far, and which of those positions
 * were tokens (not padding), so that a generation step computes only its new positions. The arrays live in the
 * manager of the step's inputs; close that manager when the generation ends.
 */
public final class KvCache {
    private final NDArray[] keys;
    private final NDArray[] values;
    private boolean[][] isToken;

    public KvCache(int layers) {
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Positions cached so far (the same for every row). */
    public int length() {
        return isToken == null ? 0 : isToken[0].length;
    }

    /** Which cached positions of row {@code b} are tokens. */
    boolean[] isToken(int b) {
        return isToken == null ? new boolean[0] : isToken[b];
    }

    NDArray keys(int layer) {
        return keys[layer];
    }

    NDArray values(int layer) {
        return values[layer];
    }

    /** Replaces a layer's arrays; the previous ones were copied into the new ones and are freed. */
    void set(int layer, NDArray layerKeys, NDArray layerValues) {
        if (keys[layer] != null && keys[layer] != layerKeys) {
            keys[layer].close();
            values[layer].close();
        }
        keys[layer] = layerKeys;
        values[layer] = layerValues;
    }

    /** Moves the cached arrays into {@code manager}, so that they outlive the step that made them. */
    public void keepIn(ai.djl.ndarray.NDManager manager) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].attach(manager);
                values[i].attach(manager);
            }
        }
    }

    /** Records the flags of the positions a step added. */
    void append(boolean[][] added) {
        if (isToken == null) {
            isToken = added;
            return;
        }
        boolean[][] grown = new boolean[isToken.length][];
        for (int b = 0; b < isToken.length; b++) {
            grown[b] = new boolean[isToken[b].length + added[b].length];
            System.arraycopy(isToken[b], 0, grown[b], 0, isToken[b].length);
            System.arraycopy(added[b], 0, grown[b], isToken[b].length, added[b].length);
        }
        isToken = grown;
    }
}
