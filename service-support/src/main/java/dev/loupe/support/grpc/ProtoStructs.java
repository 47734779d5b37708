package dev.loupe.support.grpc;

import java.util.Map;
import java.util.TreeMap;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

/** Turns {@code google.protobuf.Struct} values into plain Java values that Jackson writes as JSON. */
public final class ProtoStructs {
    private ProtoStructs() {
    }

    /** The struct as a map with its keys sorted, so the same struct always writes the same JSON. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> toJava(Struct struct) {
        return (Map<String, Object>) toJava(Value.newBuilder().setStructValue(struct).build());
    }

    /** Null, Boolean, Double, String, List or a sorted Map. */
    public static Object toJava(Value value) {
        return switch (value.getKindCase()) {
            case NULL_VALUE, KIND_NOT_SET -> null;
            case BOOL_VALUE -> value.getBoolValue();
            case NUMBER_VALUE -> value.getNumberValue();
            case STRING_VALUE -> value.getStringValue();
            case LIST_VALUE -> value.getListValue().getValuesList().stream().map(ProtoStructs::toJava).toList();
            case STRUCT_VALUE -> {
                Map<String, Object> sorted = new TreeMap<>();
                value.getStructValue().getFieldsMap().forEach((key, field) -> sorted.put(key, toJava(field)));
                yield sorted;
            }
        };
    }
}
