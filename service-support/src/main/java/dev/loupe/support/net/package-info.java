/** Fetching pictures from hosts outside Loupe, only those the operator allows and only at public addresses. */
package dev.loupe.support.net;
