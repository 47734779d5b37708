package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.common.v1.Actor;

/**
 * Who did something: a user, or a service.
 *
 * @param service the client id of the service that acted, or null when a user did
 */
@Schema(name = "Actor")
public record ActorView(String userId, String username, String service) {

    public static ActorView of(Actor actor) {
        return new ActorView(actor.getUserId(), actor.getUsername(),
                actor.getService().isEmpty() ? null : actor.getService());
    }
}
