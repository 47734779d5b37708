package dev.loupe.engine.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleFunction;
import java.util.function.Predicate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.djl.util.PairList;

/**
 * AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization") over the trainable parameters of a block,
 * those whose array requires a gradient; frozen parameters get no state. One update, at step {@code t} from 1:
 *
 * <pre>
 * m = beta1 m + (1 - beta1) g
 * v = beta2 v + (1 - beta2) g^2
 * p = p - lr (m / (1 - beta1^t) / (sqrt(v / (1 - beta2^t)) + eps) + wd p)
 * </pre>
 *
 * <p>
 * Each parameter belongs to the first {@link ParameterGroup} whose rule accepts its DJL name (the block path
 * first, e.g. {@code 03layers_0_02self_attn_01q_proj_weight}); the group scales the learning rate and sets the
 * weight decay. After the groups the builder is given come two standard ones: {@link ParameterGroup#NO_DECAY} for
 * biases and normalisation weights, which weight decay would only pull towards zero, and {@code decay} for the
 * rest.
 *
 * <p>
 * The state ({@code m}, {@code v}, and for FP16 parameters an FP32 master copy that the updates accumulate in, so
 * that updates smaller than FP16's resolution are not lost) lives in a manager this optimizer owns, in FP32, or
 * FP64 for FP64 parameters. It is created with the optimizer, never inside a step, so a caller's {@link NDScope}
 * cannot close it. The arithmetic runs outside any gradient collector, on arrays only, and each step's temporary
 * arrays are closed with the step.
 */
public final class AdamW implements AutoCloseable {
    private static final String EXP_AVG = ".exp_avg";
    private static final String EXP_AVG_SQ = ".exp_avg_sq";
    private static final String MASTER = ".master";

    /**
     * Parameters that share a learning-rate multiplier and a weight decay.
     *
     * @param name for reports
     * @param members accepts the DJL names of the parameters the group holds
     * @param learningRateMultiplier the group's rate is the schedule's rate times this
     * @param weightDecay the decoupled decay coefficient {@code wd}
     */
    public record ParameterGroup(String name, Predicate<String> members, double learningRateMultiplier,
            double weightDecay) {
        /** The name of the standard group of biases and normalisation weights, which is never decayed. */
        public static final String NO_DECAY = "no_decay";

        public ParameterGroup {
            if (learningRateMultiplier < 0 || weightDecay < 0) {
                throw new IllegalArgumentException("learning-rate multiplier and weight decay must be >= 0");
            }
        }

        /**
         * Whether a DJL parameter name is a bias or a normalisation weight: its last part is {@code bias},
         * {@code beta} or {@code gamma} (DJL's names for biases and norm scales), or it lies in a block whose
         * name holds {@code norm} (the RMS norms name their scale {@code weight}).
         */
        public static boolean isBiasOrNorm(String name) {
            String lower = name.toLowerCase(Locale.ROOT);
            String last = lower.substring(lower.lastIndexOf('_') + 1);
            return last.equals("bias") || last.equals("beta") || last.equals("gamma") || lower.contains("norm");
        }
    }

    /** One trainable parameter with its state. */
    private static final class Slot {
        final String name;
        final Parameter parameter;
        final ParameterGroup group;
        NDArray expAvg;
        NDArray expAvgSq;
        NDArray master;

        Slot(String name, Parameter parameter, ParameterGroup group) {
            this.name = name;
            this.parameter = parameter;
            this.group = group;
        }
    }

    private final NDManager manager;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final List<Slot> slots;
    private long stepCount;

    private AdamW(Builder builder, PairList<String, Parameter> parameters) {
        this.beta1 = builder.beta1;
        this.beta2 = builder.beta2;
        this.epsilon = builder.epsilon;
        List<ParameterGroup> groups = new ArrayList<>(builder.groups);
        groups.add(new ParameterGroup(ParameterGroup.NO_DECAY, ParameterGroup::isBiasOrNorm, 1, 0));
        groups.add(new ParameterGroup("decay", name -> true, 1, builder.weightDecay));
        this.slots = new ArrayList<>();
        NDManager owner = null;
        for (Pair<String, Parameter> entry : parameters) {
            NDArray array = entry.getValue().getArray();
            if (!array.hasGradient()) {
                continue;
            }
            if (owner == null) {
                owner = array.getManager().newSubManager();
            }
            ParameterGroup group = groups.stream()
                    .filter(g -> g.members().test(entry.getKey()))
                    .findFirst()
                    .orElseThrow();
            Slot slot = new Slot(entry.getKey(), entry.getValue(), group);
            DataType type = stateType(array.getDataType());
            slot.expAvg = owner.zeros(array.getShape(), type);
            slot.expAvgSq = owner.zeros(array.getShape(), type);
            NDScope.unregister(slot.expAvg, slot.expAvgSq);
            if (type != array.getDataType()) {
                slot.master = ownCopy(array, type, owner);
            }
            slots.add(slot);
        }
        if (owner == null) {
            throw new IllegalArgumentException("no parameter requires a gradient: nothing to train");
        }
        this.manager = owner;
    }

    private static DataType stateType(DataType parameterType) {
        return parameterType == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The trainable parameters by DJL name, in the block's order. */
    public Map<String, Parameter> parameters() {
        Map<String, Parameter> named = new LinkedHashMap<>();
        slots.forEach(slot -> named.put(slot.name, slot.parameter));
        return Collections.unmodifiableMap(named);
    }

    /** The group a trainable parameter belongs to. */
    public ParameterGroup groupOf(String parameterName) {
        return slot(parameterName).group;
    }

    /** How many updates were applied (skipped steps are not counted): the {@code t} of the bias correction. */
    public long stepCount() {
        return stepCount;
    }

    /** Applies one update from the parameters' current gradients, which stay as they are. */
    public void step(double learningRate) {
        step(learningRate, 1);
    }

    /**
     * Applies one update from the parameters' current gradients times {@code gradientFactor}, which stay as they
     * are. The factor carries loss unscaling and clipping, so that FP16 gradients are unscaled in the state's
     * precision, where small values do not underflow.
     */
    public void step(double learningRate, double gradientFactor) {
        stepCount++;
        double correction1 = 1 - Math.pow(beta1, stepCount);
        double correction2 = 1 - Math.pow(beta2, stepCount);
        try (NDManager scratch = manager.newSubManager(); NDScope scope = new NDScope()) {
            // Each distinct scalar becomes an array once per step, not once per parameter: every array is a JNI
            // call or two, and a model has hundreds of parameters.
            Map<String, NDArray> scalars = new HashMap<>();
            for (Slot slot : slots) {
                NDArray parameter = slot.parameter.getArray();
                NDArray weights = slot.master != null ? slot.master : parameter;
                DataType type = slot.expAvg.getDataType();
                DoubleFunction<NDArray> scalar = value -> scalars.computeIfAbsent(type + ":" + value,
                        key -> scratch.create(value).toType(type, false));
                NDArray g = parameter.getGradient().toType(type, false);
                if (gradientFactor != 1) {
                    g = g.mul(scalar.apply(gradientFactor));
                }
                slot.expAvg.muli(scalar.apply(beta1)).addi(g.mul(scalar.apply(1 - beta1)));
                slot.expAvgSq.muli(scalar.apply(beta2)).addi(g.mul(g).mul(scalar.apply(1 - beta2)));
                NDArray denominator = slot.expAvgSq.div(scalar.apply(correction2))
                        .sqrt()
                        .add(scalar.apply(epsilon));
                NDArray update = slot.expAvg.div(scalar.apply(correction1)).div(denominator);
                if (slot.group.weightDecay() != 0) {
                    update = update.add(weights.mul(scalar.apply(slot.group.weightDecay())));
                }
                weights.subi(update.mul(scalar.apply(learningRate * slot.group.learningRateMultiplier())));
                if (slot.master != null) {
                    parameter.set(new NDIndex("..."), slot.master.toType(parameter.getDataType(), false));
                }
            }
        }
    }

    /**
     * The state by name: {@code <parameter>.exp_avg}, {@code <parameter>.exp_avg_sq} and, for FP16 parameters,
     * {@code <parameter>.master}. The arrays are the live state: read them, do not close or change them.
     */
    public Map<String, NDArray> exportState() {
        Map<String, NDArray> state = new LinkedHashMap<>();
        for (Slot slot : slots) {
            state.put(slot.name + EXP_AVG, slot.expAvg);
            state.put(slot.name + EXP_AVG_SQ, slot.expAvgSq);
            if (slot.master != null) {
                state.put(slot.name + MASTER, slot.master);
            }
        }
        return state;
    }

    /**
     * Replaces the state with copies of exported arrays (which stay the caller's) and sets the step count.
     *
     * @throws IllegalArgumentException if an array is missing, unknown or of another shape
     */
    public void importState(Map<String, NDArray> state, long steps) {
        Map<String, NDArray> current = exportState();
        if (!current.keySet().equals(state.keySet())) {
            List<String> missing = new ArrayList<>(current.keySet());
            missing.removeAll(state.keySet());
            List<String> unknown = new ArrayList<>(state.keySet());
            unknown.removeAll(current.keySet());
            throw new IllegalArgumentException("optimizer state does not match the parameters: missing " + missing
                    + ", unknown " + unknown);
        }
        state.forEach((name, array) -> {
            if (!array.getShape().equals(current.get(name).getShape())) {
                throw new IllegalArgumentException(name + " has shape " + array.getShape() + ", the state needs "
                        + current.get(name).getShape());
            }
        });
        for (Slot slot : slots) {
            slot.expAvg = replace(slot.expAvg, state.get(slot.name + EXP_AVG));
            slot.expAvgSq = replace(slot.expAvgSq, state.get(slot.name + EXP_AVG_SQ));
            if (slot.master != null) {
                slot.master = replace(slot.master, state.get(slot.name + MASTER));
                NDArray parameter = slot.parameter.getArray();
                parameter.set(new NDIndex("..."), slot.master.toType(parameter.getDataType(), false));
            }
        }
        this.stepCount = steps;
    }

    private NDArray replace(NDArray old, NDArray source) {
        NDArray copy = ownCopy(source, old.getDataType(), manager);
        old.close();
        return copy;
    }

    /**
     * A copy that shares no memory with the source, in {@code owner}. Not {@code toType(type, true)}: for an array
     * already of that type, DJL's PyTorch engine returns a second handle on the same memory.
     */
    private static NDArray ownCopy(NDArray source, DataType type, NDManager owner) {
        NDArray copy = source.getDataType() == type ? source.duplicate() : source.toType(type, false);
        copy.attach(owner);
        NDScope.unregister(copy);
        return copy;
    }

    private Slot slot(String name) {
        return slots.stream()
                .filter(s -> s.name.equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no trainable parameter " + name));
    }

    /** Frees the state. */
    @Override
    public void close() {
        manager.close();
    }

    /** Settings of an {@link AdamW}; the defaults are PyTorch's. */
    public static final class Builder {
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double epsilon = 1e-8;
        private double weightDecay = 0.01;
        private final List<ParameterGroup> groups = new ArrayList<>();

        private Builder() {
        }

        public Builder optBetas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        public Builder optEpsilon(double epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /** The weight decay of the standard {@code decay} group. */
        public Builder optWeightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** Adds a group, checked before the ones added after it and before the two standard groups. */
        public Builder addGroup(ParameterGroup group) {
            groups.add(group);
            return this;
        }

        /** An optimizer over the block's trainable parameters. */
        public AdamW build(Block block) {
            return build(block.getParameters());
        }

        /** An optimizer over the trainable ones of these named parameters. */
        public AdamW build(PairList<String, Parameter> parameters) {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && epsilon > 0 && weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW needs 0 <= beta < 1, epsilon > 0 and weightDecay >= 0");
            }
            return new AdamW(this, parameters);
        }
    }
}
