/** Generation and parsing of resource ids. */
package dev.loupe.support.id;
