package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.common.v1.Actor;

/** Who did something: a user, or a service. */
@Schema(name = "Actor")
public record ActorView(String userId, String username) {

    public static ActorView of(Actor actor) {
        return new ActorView(actor.getUserId(), actor.getUsername());
    }
}
